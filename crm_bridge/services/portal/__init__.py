"""The partner portal and the head's dashboard as use cases: who may sign in (``access``), what a
partner's pages show (``partner_view``) and what the head's dashboard shows (``dashboard``). The web
layer (``crm_bridge.web.portal``) only renders what these return."""
