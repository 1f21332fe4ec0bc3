"""The one-line help of each ``crm-bridge`` verb, as ``crm-bridge --help`` lists it (``crm_bridge.cli``
shows these without importing a single verb module, so the listing answers at once). A verb's full help
is its command's docstring (``crm-bridge <verb> --help``)."""

from __future__ import annotations

_EN: dict[str, str] = {
    "validate": "Check the config file and print what it configures.",
    "funnels": "Print the funnels, stages and fields provisioning would create.",
    "doctor": "Check the CRM connection, rights, funnels, people and channels.",
    "users": "List the CRM's users and which config role uses each.",
    "provision": "Create or update the partner funnels, stages and fields in CRM.",
    "sync": "Pull changed records from the CRM into the state store.",
    "run": "Run the daemon: jobs, intake API, partner portal, dashboard.",
    "status": "Show replicas, jobs, sync lag, outbox and rate budget.",
    "state": "Back up and restore the state store.",
    "intake": "Partner leads: CSV import and HTTP API keys.",
    "tiers": "Partner tiers: evaluate, downgrades, approvals, history.",
    "partners": "Partner portal access, partner lifecycle and Telegram bot.",
    "plans": "Cooperation plans per partner and period: import, plan vs actual.",
    "training": "Training and certification of partners' people.",
    "report": "Report a period's KPIs, plans, conversion and leaderboard.",
    "rewards": "Compute partners' reward statements and the points leaderboard.",
    "sandbox": "Run a local emulated CRM for a demo, tests or benchmarks.",
    "demo": "Run crm-bridge end to end against a local CRM sandbox.",
    "secrets": "Manage the key that encrypts secrets in the state store.",
    "db": "The state store's schema: revision, pending migrations.",
}

_RU: dict[str, str] = {
    "validate": "Проверить файл конфигурации и показать, что в нём настроено.",
    "funnels": "Показать воронки, этапы и поля, которые создаст provision.",
    "doctor": "Проверить связь с CRM, права, воронки, людей и каналы.",
    "users": "Пользователи CRM и какая роль в конфигурации использует каждого.",
    "provision": "Создать или обновить воронки, этапы и поля партнёров в CRM.",
    "sync": "Загрузить изменённые записи из CRM в хранилище состояния.",
    "run": "Запустить демон: задания, API приёма, портал партнёров, дашборд.",
    "status": "Реплики, задания, отставание синхронизации, очередь, лимит CRM.",
    "state": "Резервная копия и восстановление хранилища состояния.",
    "intake": "Лиды партнёров: импорт CSV и ключи HTTP API.",
    "tiers": "Уровни партнёров: расчёт, понижения, согласования, история.",
    "partners": "Доступ к порталу, жизненный цикл партнёров и Telegram-бот.",
    "plans": "Планы сотрудничества по партнёрам и периодам: импорт, план/факт.",
    "training": "Обучение и сертификация сотрудников партнёров.",
    "report": "Отчёт за период: KPI, планы, конверсия и рейтинг.",
    "rewards": "Расчёт вознаграждений партнёров и рейтинг по баллам.",
    "sandbox": "Запустить локальный эмулятор CRM для демо, тестов, бенчмарков.",
    "demo": "Прогнать crm-bridge целиком на локальной песочнице CRM.",
    "secrets": "Ключ, которым шифруются секреты в хранилище состояния.",
    "db": "Схема хранилища состояния: ревизия, ожидающие миграции.",
}

TEXT: dict[str, dict[str, str]] = {"en": _EN, "ru": _RU}
