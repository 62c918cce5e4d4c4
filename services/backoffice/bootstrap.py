"""The back office's bootstrap: the one place that reads the settings (and refuses
development secrets in production), builds the clients of the other services and the HTTP
app, and wires them into a runnable `ServiceRuntime` (no Kafka: it consumes and publishes
nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from services.backoffice.adapters.accounts import MIGRATIONS
from services.backoffice.adapters.services import Services
from services.backoffice.entrypoints.access import Access, FormRefused, Redirect
from services.backoffice.entrypoints.accounts_admin import accounts_router
from services.backoffice.entrypoints.agencies_admin import agencies_router
from services.backoffice.entrypoints.agency_case import agency_case_router
from services.backoffice.entrypoints.agency_inbox import agency_inbox_router
from services.backoffice.entrypoints.dead_letters import dead_letters_router
from services.backoffice.entrypoints.desk_pages import desk_router
from services.backoffice.entrypoints.disposition import disposition_router
from services.backoffice.entrypoints.home import home_router
from services.backoffice.entrypoints.open311_clients import open311_clients_router
from services.backoffice.entrypoints.pages import render
from services.backoffice.entrypoints.review_pages import review_router
from services.backoffice.entrypoints.routing_admin import routing_admin_router
from services.backoffice.entrypoints.signin_pages import signin_router
from services.backoffice.entrypoints.supervision import supervision_router
from services.backoffice.settings import BackofficeSettings
from services.runtime.forms import SecurityHeaders
from services.runtime.lifecycle import ServiceRuntime, Settings
from services.runtime.settings import StaffAssertionSettings, check_deployment

SERVICE = "backoffice"
DEFAULT_PORT = 8004


def build(settings: Settings) -> ServiceRuntime:
    if settings.http_port == 0:
        settings.http_port = DEFAULT_PORT
    backoffice = BackofficeSettings()
    assertions = StaffAssertionSettings()
    check_deployment(settings, backoffice, assertions)
    runtime = ServiceRuntime(
        service=SERVICE, settings=settings, migrations=MIGRATIONS, uses_kafka=False
    )

    def pool() -> asyncpg.Pool:  # the pool exists once the runtime has started
        assert runtime.pool is not None
        return runtime.pool

    services = Services(backoffice, assertions.staff_assertion_secret)
    runtime.app = create_app(pool, backoffice, services)
    return runtime


def create_app(
    pool: Callable[[], asyncpg.Pool],
    settings: BackofficeSettings,
    services: Services,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """The back office's HTTP app: every staff page, under /staff."""
    app = FastAPI(title="Lapor back office", docs_url=None, redoc_url=None, openapi_url=None)
    access = Access(pool, settings, clock)
    app.state.access = access
    app.state.services = services
    for router in (
        signin_router(access),
        home_router(access),
        accounts_router(access),
        agency_inbox_router(access, services),
        agency_case_router(access, services),
        supervision_router(access, services),
        disposition_router(access, services),
        routing_admin_router(access, services),
        agencies_router(access, services),
        dead_letters_router(access, services),
        open311_clients_router(access, services),
        review_router(access, services),
        desk_router(access, services),
    ):
        app.include_router(router)
    _install_answers(app)
    app.add_middleware(SecurityHeaders)
    return app


def _install_answers(app: FastAPI) -> None:
    """Redirects (sign in first), the 403 page of a refused form, the 404 page."""

    @app.exception_handler(Redirect)
    async def redirect(request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(FormRefused)
    async def refused(request: Request, exc: FormRefused) -> Response:
        return render(
            request, "message.html", status_code=403, heading="refused_title", message="refused"
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return render(
                request,
                "message.html",
                status_code=404,
                heading="not_found_title",
                message="not_found",
            )
        return Response(str(exc.detail), status_code=exc.status_code, headers=exc.headers)
