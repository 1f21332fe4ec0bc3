"""The partner portal (``/portal``) and the head's dashboard (``/admin``): server-rendered Jinja2 pages
over the ``crm_bridge.services.portal`` use cases, mounted into the daemon's FastAPI app by
``mount_portal``. See ``common`` for sessions, CSRF, cookies and the security headers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from crm_bridge.web.portal.admin import admin_router
from crm_bridge.web.portal.common import STATIC, PortalContext, portal_context
from crm_bridge.web.portal.partner import partner_router

__all__ = ["PortalContext", "mount_portal", "portal_context"]


def mount_portal(app: FastAPI, ctx: PortalContext) -> None:
    """Add the portal's and the dashboard's static files and routes to ``app`` (the files first: the
    routers end with an HTML "not found" page for any other path under /portal and /admin)."""
    app.mount("/portal/static", StaticFiles(directory=str(STATIC)), name="portal-static")
    app.include_router(partner_router(ctx))
    app.include_router(admin_router(ctx))
