"""The daemon's web side: a FastAPI application (``create_app``) served by uvicorn inside
``crm-bridge run`` (``WebServer``). Routes: the partner intake API (``POST /v1/leads``), ``/healthz``,
``/readyz``, ``/metrics``, ``/openapi.json`` and ``/docs``; further ``APIRouter``s (the partner portal,
the head's dashboard) are mounted with ``create_app(ctx, routers=[...])`` and read what they need from
the ``WebContext`` (``context_of(request)`` or the ``Context`` dependency)."""

from crm_bridge.web.app import create_app
from crm_bridge.web.context import Context, WebContext, context_of

__all__ = ["Context", "WebContext", "context_of", "create_app"]
