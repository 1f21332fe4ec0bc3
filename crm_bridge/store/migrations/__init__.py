"""Alembic migrations of the state store (``crm_bridge.store.migrate`` runs them; package data, so an
installed wheel carries them). A new revision: ``alembic -c crm_bridge/store/migrations/alembic.ini
revision --autogenerate -m "what"`` from the repository, then read and fix what it wrote."""
