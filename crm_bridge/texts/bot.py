"""What the partners' Telegram bot says (``crm_bridge.services.bot``), in the partner's language."""

from __future__ import annotations

_EN: dict[str, str] = {
    "unlinked": (
        "This bot serves our partners. To link this chat, send the one-time code from your portal "
        "invitation: /link CODE (ask your curator for a code)."
    ),
    "link_bad": "This code does not work: it is wrong, used or expired. Ask your curator for a new one.",
    "link_done": "Linked: this chat now speaks for {partner}. /help lists what I can do.",
    "link_other": "This chat is already linked to {partner}. /unlink first to link another partner.",
    "unlinked_done": "Unlinked. This chat sees nothing of {partner} any more.",
    "help": (
        "/lead - register a lead\n/leads - my leads and their stages\n/tier - my tier and what the next "
        "one needs\n/rewards - my reward statement\n/top - the leaderboard\n/training - my training status\n"
        "/mute KIND, /unmute KIND - pushes: stage, tier, plan, news, survey\n/feedback - rate us\n"
        "/lang ru|en\n/unlink\nAny other text is a question: I answer from the FAQ or pass it to your "
        "curator."
    ),
    "cancelled": "Cancelled.",
    "ask_customer_name": "Register a lead (/cancel to stop). The customer's company name?",
    "ask_email": "The customer's e-mail? ('-' to skip)",
    "ask_phone": "The customer's phone? ('-' to skip)",
    "ask_tax_id": "The customer's tax id (INN)? ('-' to skip)",
    "ask_amount": "The expected deal amount? ('-' to skip)",
    "ask_comment": "A comment for the manager? ('-' to skip)",
    "ask_confirm": "Register this lead?\n{summary}\nAnswer yes or no.",
    "bad_customer_name": "The company name is required (up to 255 characters). Try again:",
    "bad_email": "That is not an e-mail address (name@example.com). Try again, or '-' to skip:",
    "bad_phone": "That is not a phone number (at least 7 digits, e.g. +7 900 123-45-67). Try again, or '-':",
    "bad_tax_id": "That is not a tax id (10 or 12 digits). Try again, or '-' to skip:",
    "bad_amount": "That is not an amount (e.g. 150000 or 150 000,50). Try again, or '-' to skip:",
    "bad_comment": "The comment is too long (up to 4000 characters). Try again, or '-':",
    "need_contact": "Give at least an e-mail, a phone or a tax id: they tell whose customer it is. E-mail?",
    "bad_confirm": "Please answer yes or no.",
    "lead_created": "Lead registered: {customer} (lead {lead}). I will tell you when its stage changes.",
    "lead_existing": "This lead was already registered: {customer} (lead {lead}).",
    "lead_conflict": (
        "Registered, but another partner registered this customer first: the lead is flagged for the "
        "curator's review (channel conflict). You will hear the decision."
    ),
    "lead_refused": "The CRM refused the lead: {error}",
    "lead_unavailable": "The CRM is not reachable right now; your answers are kept. Send 'yes' again later.",
    "no_leads": "You have no leads yet. /lead registers one.",
    "leads_title": "Your leads (newest first):",
    "lead_line": "{customer} - {stage}",
    "state_waiting": "waiting for the CRM",
    "state_refused": "refused by the CRM",
    "state_won": "won",
    "state_lost": "lost",
    "tier": "Your tier: {tier}.",
    "tier_next": "For {next} over the last {days} days you need:",
    "tier_top": "This is the highest tier.",
    "tier_line": "{metric}: {actual} of {minimum}{missing}",
    "tier_missing": " (lacking {missing})",
    "rewards": "Reward statement for {period}: {total} {currency}.",
    "rewards_none": "No reward statement for {period} yet.",
    "rewards_unavailable": "Rewards and the leaderboard are not available right now.",
    "rewards_line": "{what}: {amount} {currency}",
    "top_title": "Leaderboard for {period}:",
    "top_line": "{rank}. {name} - {points} points{me}",
    "top_me": " (you)",
    "top_hidden": "Partner #{rank}",
    "training_done": "Training: completed.",
    "training_todo": "Training: not completed yet. Ask your curator for the course.",
    "muted": "Pushes of kind {kind} are off. /unmute {kind} turns them back on.",
    "unmuted": "Pushes of kind {kind} are on.",
    "bad_kind": "Kinds: stage, tier, plan, news, survey.",
    "lang_done": "Language: English.",
    "faq_answer": "{answer}",
    "question_passed": (
        "I do not know the answer; I passed your question to your curator. The answer will come here."
    ),
    "question_failed": "I could not pass your question to the curator now; please try again later.",
    "answer": "Your curator answers your question \u00ab{question}\u00bb:\n{answer}",
    "push_stage": "Lead {customer}: now at stage \u00ab{stage}\u00bb.",
    "push_won": "Lead {customer} is won. Congratulations!",
    "push_lost": "Lead {customer} is lost.",
    "push_tier_up": "Congratulations: your tier is now {tier} (was {was}).{gained}",
    "push_tier_down": "Your tier is now {tier} (was {was}).{gained}",
    "tier_exclusive_gained": " You now have access to exclusive deals.",
    "tier_exclusive_lost": " Access to exclusive deals ends.",
    "push_plan": "Plan for {period}: {lines}",
    "push_news": "{text}",
    "survey_ask": "How likely are you to recommend working with us to a colleague? Answer 0-10 (/feedback).",
    "survey_score": "How likely are you to recommend working with us, 0 to 10?",
    "survey_bad": "A number from 0 to 10, please.",
    "survey_comment": "Thank you! Anything to add? ('-' to skip)",
    "survey_done": "Thank you for the feedback.",
    "not_found": "The partner this chat was linked to is not in the CRM any more; ask your curator.",
}

_RU: dict[str, str] = {
    "unlinked": (
        "Этот бот работает для наших партнёров. Чтобы подключить этот чат, отправьте одноразовый код из "
        "приглашения в кабинет: /link КОД (код выдаёт ваш куратор)."
    ),
    "link_bad": "Код не подходит: неверный, уже использован или истёк. Попросите у куратора новый.",
    "link_done": "Готово: этот чат подключён к партнёру {partner}. /help — что я умею.",
    "link_other": "Этот чат уже подключён к партнёру {partner}. Сначала /unlink, чтобы подключить другого.",
    "unlinked_done": "Чат отключён: данные партнёра {partner} здесь больше не видны.",
    "help": (
        "/lead — зарегистрировать лид\n/leads — мои лиды и их стадии\n/tier — мой уровень и что нужно для "
        "следующего\n/rewards — мой расчёт вознаграждения\n/top — рейтинг партнёров\n/training — моё "
        "обучение\n/mute ВИД, /unmute ВИД — уведомления: stage, tier, plan, news, survey\n"
        "/feedback — оценить "
        "нас\n/lang ru|en\n/unlink\nЛюбой другой текст — вопрос: отвечу из FAQ или передам куратору."
    ),
    "cancelled": "Отменено.",
    "ask_customer_name": "Регистрация лида (/cancel — отменить). Название компании клиента?",
    "ask_email": "Эл. почта клиента? («-» — пропустить)",
    "ask_phone": "Телефон клиента? («-» — пропустить)",
    "ask_tax_id": "ИНН клиента? («-» — пропустить)",
    "ask_amount": "Ожидаемая сумма сделки? («-» — пропустить)",
    "ask_comment": "Комментарий для менеджера? («-» — пропустить)",
    "ask_confirm": "Зарегистрировать лид?\n{summary}\nОтветьте да или нет.",
    "bad_customer_name": "Название компании обязательно (до 255 символов). Ещё раз:",
    "bad_email": "Это не адрес эл. почты (name@example.com). Ещё раз или «-»:",
    "bad_phone": "Это не номер телефона (не меньше 7 цифр, например +7 900 123-45-67). Ещё раз или «-»:",
    "bad_tax_id": "Это не ИНН (10 или 12 цифр). Ещё раз или «-»:",
    "bad_amount": "Это не сумма (например 150000 или 150 000,50). Ещё раз или «-»:",
    "bad_comment": "Комментарий слишком длинный (до 4000 символов). Ещё раз или «-»:",
    "need_contact": "Нужен хотя бы e-mail, телефон или ИНН: по ним видно, чей это клиент. Эл. почта?",
    "bad_confirm": "Ответьте, пожалуйста, да или нет.",
    "lead_created": "Лид зарегистрирован: {customer} (лид {lead}). Сообщу, когда сменится стадия.",
    "lead_existing": "Этот лид уже был зарегистрирован: {customer} (лид {lead}).",
    "lead_conflict": (
        "Лид зарегистрирован, но этого клиента раньше зарегистрировал другой партнёр: лид отмечен для "
        "решения куратора (конфликт каналов). О решении сообщу."
    ),
    "lead_refused": "CRM отклонила лид: {error}",
    "lead_unavailable": "CRM сейчас недоступна; ответы сохранены. Отправьте «да» ещё раз позже.",
    "no_leads": "Лидов пока нет. /lead — зарегистрировать.",
    "leads_title": "Ваши лиды (сначала новые):",
    "lead_line": "{customer} — {stage}",
    "state_waiting": "ждёт CRM",
    "state_refused": "отклонён CRM",
    "state_won": "выигран",
    "state_lost": "проигран",
    "tier": "Ваш уровень: {tier}.",
    "tier_next": "Для уровня {next} за последние {days} дн. нужно:",
    "tier_top": "Это высший уровень.",
    "tier_line": "{metric}: {actual} из {minimum}{missing}",
    "tier_missing": " (не хватает {missing})",
    "rewards": "Расчёт вознаграждения за {period}: {total} {currency}.",
    "rewards_none": "Расчёта за {period} пока нет.",
    "rewards_unavailable": "Вознаграждения и рейтинг сейчас недоступны.",
    "rewards_line": "{what}: {amount} {currency}",
    "top_title": "Рейтинг партнёров за {period}:",
    "top_line": "{rank}. {name} — {points} балл.{me}",
    "top_me": " (вы)",
    "top_hidden": "Партнёр №{rank}",
    "training_done": "Обучение: пройдено.",
    "training_todo": "Обучение: ещё не пройдено. Курс — у вашего куратора.",
    "muted": "Уведомления вида {kind} выключены. /unmute {kind} — включить снова.",
    "unmuted": "Уведомления вида {kind} включены.",
    "bad_kind": "Виды: stage, tier, plan, news, survey.",
    "lang_done": "Язык: русский.",
    "faq_answer": "{answer}",
    "question_passed": "Ответа я не знаю и передал вопрос вашему куратору. Ответ придёт сюда.",
    "question_failed": "Не удалось передать вопрос куратору; попробуйте, пожалуйста, позже.",
    "answer": "Куратор отвечает на ваш вопрос «{question}»:\n{answer}",
    "push_stage": "Лид {customer}: теперь на стадии «{stage}».",
    "push_won": "Лид {customer} выигран. Поздравляем!",
    "push_lost": "Лид {customer} проигран.",
    "push_tier_up": "Поздравляем: ваш уровень теперь {tier} (был {was}).{gained}",
    "push_tier_down": "Ваш уровень теперь {tier} (был {was}).{gained}",
    "tier_exclusive_gained": " Теперь вам доступны эксклюзивные сделки.",
    "tier_exclusive_lost": " Доступ к эксклюзивным сделкам закрыт.",
    "push_plan": "План на {period}: {lines}",
    "push_news": "{text}",
    "survey_ask": (
        "Насколько вероятно, что вы порекомендуете работу с нами коллеге? Ответьте 0–10 (/feedback)."
    ),
    "survey_score": "Насколько вероятно, что вы порекомендуете работу с нами, от 0 до 10?",
    "survey_bad": "Число от 0 до 10, пожалуйста.",
    "survey_comment": "Спасибо! Хотите что-то добавить? («-» — пропустить)",
    "survey_done": "Спасибо за отзыв.",
    "not_found": "Партнёра, к которому подключён этот чат, больше нет в CRM; обратитесь к куратору.",
}

TEXT: dict[str, dict[str, str]] = {"en": _EN, "ru": _RU}
