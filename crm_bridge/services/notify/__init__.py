"""Notifications through the state store's outbox: ``notifier.Notifier`` queues and flushes;
``message`` is what a channel is handed and answers; ``channels`` delivers (CRM, e-mail, and
``telegram``); ``routing`` decides who hears about what; ``health`` tells ``doctor`` whether each
enabled channel can deliver."""
