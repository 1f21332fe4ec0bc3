"""The URL of a test's own PostgreSQL schema (tests/conftest.py's ``store_url``, the replicas' state.url)."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def pg_schema_url(pg_url: str, schema: str) -> str:
    """``pg_url`` with the store in ``schema``, and commits that do not wait for the server's disk
    (``synchronous_commit=off``: a commit is as final and as visible to every other connection; only a
    crash of the server itself could lose the last ones). A commit then costs ~1 ms instead of ~7 ms
    here, and the store tests commit often. Only tests' schemas get it; no product default does."""
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    return make_url(pg_url).update_query_dict({"options": options}).render_as_string(hide_password=False)
