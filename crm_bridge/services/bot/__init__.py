"""The partners' Telegram bot: linking, the dialogue, pushes through the outbox, questions and the survey
(``service.PartnerBot`` wires them)."""
