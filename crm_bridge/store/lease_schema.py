"""Tables of daemon replicas sharing one store (``crm_bridge.store.leases``): which scheduled job each
replica holds, until when (Unix seconds of the database's clock), the last run of each job whichever
replica ran it, and the replicas themselves. Created by the Alembic revision ``0005_leases``."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text

from crm_bridge.store.schema import KEY, PORTAL

metadata = MetaData()

job_leases = Table(
    "job_leases",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("job", String(64), primary_key=True),
    Column("holder", String(KEY), nullable=False, default=""),  # replica id; "" = free
    Column("expires", Float, nullable=False, default=0.0),
    Column("acquired", Float, nullable=False, default=0.0),
    Column("last_holder", String(KEY), nullable=False, default=""),
    Column("last_started", Float, nullable=True),
    Column("last_finished", Float, nullable=True),
    Column("last_ok", Boolean, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("runs", Integer, nullable=False, default=0),
)

replicas = Table(
    "replicas",
    metadata,
    Column("id", String(KEY), primary_key=True),  # "<host>:<pid>:<random>"
    Column("portal", String(PORTAL), nullable=False),
    Column("host", String(KEY), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", Float, nullable=False),
    Column("seen", Float, nullable=False),  # last heartbeat (the lease keeper's tick)
    Column("stopped", Float, nullable=True),  # a clean stop; a killed replica stops being seen instead
)
