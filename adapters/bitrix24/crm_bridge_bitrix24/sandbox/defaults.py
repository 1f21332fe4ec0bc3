"""What a fresh Bitrix24 cloud portal holds: the default deal funnel's stages (and the set a new funnel
gets), lead statuses and the other crm.status directories, in Russian or English.

Sources (bitrix24/b24restdocs): api-reference/crm/status/crm-status-list.md (funnel 0: codes, sort,
colours, which rows are SYSTEM), tutorials/crm/how-to-get-lists/how-to-get-elements-by-stage-filter.md
(a new funnel C10: the same stages, codes cut to 21 characters — ``C10:PREPAYMENT_INVOIC``),
tutorials/crm/how-to-get-lists/how-to-get-stages-with-semantics.md (lead statuses),
api-reference/crm/status/crm-status-entity-types.md (directory names).
"""

from __future__ import annotations

# (code, Russian name, English name, sort, semantics, system, colour)
Stage = tuple[str, str, str, int, str | None, bool, str]

DEAL_STAGES: tuple[Stage, ...] = (
    ("NEW", "Новая", "New", 10, None, True, "#39A8EF"),
    ("PREPARATION", "Подготовка документов", "Document preparation", 20, None, False, "#2FC6F6"),
    ("PREPAYMENT_INVOICE", "Счёт на предоплату", "Prepayment invoice", 30, None, False, "#55D0E0"),
    ("EXECUTING", "В работе", "In progress", 40, None, False, "#47E4C2"),
    ("FINAL_INVOICE", "Финальный счёт", "Final invoice", 50, None, False, "#FFA900"),
    ("WON", "Сделка успешна", "Deal successful", 60, "S", True, "#7BD500"),
    ("LOSE", "Сделка провалена", "Deal failed", 70, "F", True, "#FF5752"),
    ("APOLOGY", "Анализ причины провала", "Failure reason analysis", 80, "F", False, "#FF5752"),
)
LEAD_STATUSES: tuple[Stage, ...] = (
    ("NEW", "Не обработан", "Not processed", 10, None, True, "#39A8EF"),
    ("IN_PROCESS", "В работе", "In progress", 20, None, False, "#2FC6F6"),
    ("PROCESSED", "Обработан", "Processed", 30, None, False, "#55D0E0"),
    ("CONVERTED", "Качественный лид", "Converted", 50, "S", True, "#37B44A"),
    ("JUNK", "Некачественный лид", "Low-quality lead", 60, "F", True, "#F54819"),
)
# Plain directories: (ENTITY_ID, Russian title, English title, ((code, ru, en), ...)).
DIRECTORIES: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "SOURCE",
        "Источники",
        "Sources",
        (
            ("CALL", "Звонок", "Call"),
            ("EMAIL", "Электронная почта", "E-mail"),
            ("WEB", "Веб-сайт", "Website"),
            ("ADVERTISING", "Реклама", "Advertising"),
            ("PARTNER", "Существующий клиент", "Existing client"),
            ("RECOMMENDATION", "По рекомендации", "By recommendation"),
            ("TRADE_SHOW", "Выставка", "Trade show"),
            ("WEBFORM", "CRM-форма", "CRM form"),
            ("CALLBACK", "Обратный звонок", "Callback"),
            ("OTHER", "Другое", "Other"),
        ),
    ),
    (
        "CONTACT_TYPE",
        "Тип контакта",
        "Contact type",
        (
            ("CLIENT", "Клиенты", "Clients"),
            ("SUPPLIER", "Поставщики", "Suppliers"),
            ("PARTNER", "Партнёры", "Partners"),
            ("OTHER", "Другое", "Other"),
        ),
    ),
    (
        "COMPANY_TYPE",
        "Тип компании",
        "Company type",
        (
            ("CUSTOMER", "Клиент", "Client"),
            ("SUPPLIER", "Поставщик", "Supplier"),
            ("COMPETITOR", "Конкурент", "Competitor"),
            ("PARTNER", "Партнёр", "Partner"),
            ("OTHER", "Другое", "Other"),
        ),
    ),
    (
        "EMPLOYEES",
        "Кол-во сотрудников",
        "Number of employees",
        (
            ("EMPLOYEES_1", "менее 50", "fewer than 50"),
            ("EMPLOYEES_2", "50-250", "50-250"),
            ("EMPLOYEES_3", "250-500", "250-500"),
            ("EMPLOYEES_4", "более 500", "over 500"),
        ),
    ),
    (
        "INDUSTRY",
        "Сфера деятельности",
        "Industry",
        (
            ("IT", "Информационные технологии", "Information technology"),
            ("TELECOM", "Телекоммуникации и связь", "Telecommunication"),
            ("MANUFACTURING", "Производство", "Manufacturing"),
            ("BANKING", "Банковские услуги", "Banking services"),
            ("CONSULTING", "Консалтинг", "Consulting"),
            ("FINANCE", "Финансы", "Finance"),
            ("GOVERNMENT", "Правительство", "Government"),
            ("DELIVERY", "Доставка", "Delivery"),
            ("ENTERTAINMENT", "Развлечения", "Entertainment"),
            ("NOTPROFIT", "Не для получения прибыли", "Non-profit"),
            ("OTHER", "Другое", "Other"),
        ),
    ),
    (
        "DEAL_TYPE",
        "Тип сделки",
        "Deal type",
        (
            ("SALE", "Продажа", "Sales"),
            ("COMPLEX", "Комплексная продажа", "Integrated sale"),
            ("GOODS", "Продажа товара", "Merchandise sale"),
            ("SERVICES", "Продажа услуги", "Service sale"),
            ("SERVICE", "Сервисное обслуживание", "After-sales service"),
        ),
    ),
)
DIRECTORY_TITLES = {"STATUS": ("Стадии лида", "Lead stages")} | {d[0]: (d[1], d[2]) for d in DIRECTORIES}
DEFAULT_FUNNEL_NAME = {"ru": "Общая", "en": "General"}
RECORD_TITLE = {"deal": ("Сделка", "Deal"), "lead": ("Лид", "Lead")}
STAGE_CODE_MAX = {"STATUS": 21, "DEAL_STAGE": 22}  # DEAL_STAGE_<n>: 21 including the "C<n>:" prefix
FUNNEL_STAGE_CODE_MAX = 21
OTHER_CODE_MAX = 50
# Languages of user-field labels (crm-company-userfield-get.md answers with one entry per portal language).
LANGUAGES = (
    "ar",
    "br",
    "de",
    "en",
    "fr",
    "hi",
    "id",
    "in",
    "it",
    "ja",
    "kz",
    "la",
    "ms",
    "pl",
    "ru",
    "sc",
    "tc",
    "th",
    "tr",
    "ua",
    "vn",
)


def name_in(language: str, russian: str, english: str) -> str:
    return russian if language == "ru" else english


def code_max(entity_id: str) -> int:
    """The longest STATUS_ID a directory takes (crm-status-add.md, "Restrictions for STATUS_ID")."""
    if entity_id in STAGE_CODE_MAX:
        return STAGE_CODE_MAX[entity_id]
    if entity_id.startswith("DEAL_STAGE_"):
        return FUNNEL_STAGE_CODE_MAX
    return OTHER_CODE_MAX
