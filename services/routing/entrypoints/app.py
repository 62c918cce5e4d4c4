"""Routing's HTTP app: one router per concern, included in the order of the OpenAPI
document."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from services.personal_data.keystore import Keystore
from services.routing.domain import DocumentLinks
from services.routing.entrypoints.access import Clock, PoolGetter
from services.routing.entrypoints.agencies import agencies_router
from services.routing.entrypoints.agency_desk import desk_router
from services.routing.entrypoints.calendar import calendar_router
from services.routing.entrypoints.disposition import disposition_router
from services.routing.entrypoints.escalations import escalations_router
from services.routing.entrypoints.rules_admin import rules_router
from services.routing.entrypoints.stats import stats_router
from services.routing.settings import SERVICE, RoutingSettings
from services.runtime.dead_letters import mount_dead_letters
from services.runtime.http_problems import install_validation_handler
from services.runtime.settings import DocumentLinkSettings
from services.runtime.staff import assertion_secret

# The OpenAPI document's description.
DESCRIPTION = """Routing's HTTP adapter.

Every route but the public ones takes an officer's token (`Authorization: Bearer`) or the back
office's staff assertion (`X-Lapor-Staff`, schemas.staff) for a signed-in staff member:
agency officers and supervisors work at their agency's desk, disposition staff do what
Setwapres administrators do with cases (any case file, disposition, the overdue, re-opened
and SP4N lists), admins what they do with rules, the calendar and the agencies.

- `/v1/rules` and `/v1/calendar/overrides`: routing rules as versioned data and the working-day
  calendar (Setwapres administrators only: an admin of another agency gets 403).
- `/v1/desk/cases`: the agency desk. Each officer's bearer token is scoped to one agency; a
  case of another agency answers 404, exactly like a case that does not exist. A case's
  detail is its case file: the full text, where the problem is, the chronology, the
  documents (metadata and a 15-minute signed link to intake's copy for the reading officer)
  and the reporter's contact unless the report is anonymous (each opening of personal data
  and each link issued is recorded); Setwapres administrators may read any case.
- `/v1/desk/cases/{case_id}/reassign`: an agency supervisor hands a case to another officer
  of the agency (`assigned_officer`; `?mine=true` lists one's own).
- `/v1/disposition/cases`: the manual queue (complaints no rule routed) and
  `/v1/sp4n/forwardings`: the SP4N-LAPOR! forwarding state (disposition).
- `/v1/escalations/overdue`: every agency's overdue cases (an agency supervisor: their own)
  and how far each was escalated, and `/v1/agencies/{agency_code}/escalation`: who an
  agency's overdue cases are emailed to (Setwapres administrators only); `/v1/reopened`:
  cases a citizen refused (TIDAK PUAS), back in Setwapres' queue (disposition).
- `/v1/agencies`: the agency directory (disposition and administrators: the back office's
  agency pickers); `/v1/agencies/{agency_code}`: one agency with its contacts, which
  administrators edit (PUT).
- `/v1/stats` and `/stats`: public aggregate counts and deadline compliance (no personal
  data), with a server-rendered SVG chart.
"""


def system_clock() -> datetime:
    return datetime.now(UTC)


def document_links_from_env() -> DocumentLinks:
    """Intake's public address (LAPOR_ROUTING_INTAKE_PUBLIC_URL) and the shared secret
    (LAPOR_DOCUMENT_LINK_SECRET), as the environment gives them."""
    return DocumentLinks(
        RoutingSettings().intake_public_url, DocumentLinkSettings().document_link_secret
    )


def create_app(
    pool: PoolGetter,
    clock: Clock = system_clock,
    *,
    keys: Keystore,
    links: DocumentLinks | None = None,
    staff_secret: str | None = None,
) -> FastAPI:
    """`keys`: the key store the bootstrap built, to open the case files' personal fields and
    the citizen's words (sealed) for the agency desk; `links`: how the
    case file signs its documents' links (default: the environment's); `staff_secret`: the
    back office's staff assertions' (default: LAPOR_STAFF_ASSERTION_SECRET)."""
    links = links or document_links_from_env()
    app = FastAPI(title="lapor-routing", version="1", description=DESCRIPTION)
    app.state.pool = pool  # for the access dependencies
    app.state.staff_secret = staff_secret if staff_secret is not None else assertion_secret()
    install_validation_handler(app)
    app.include_router(rules_router(pool))
    app.include_router(calendar_router(pool))
    app.include_router(desk_router(pool, clock, keys, links))
    app.include_router(disposition_router(pool, clock, keys))
    app.include_router(escalations_router(pool, clock))
    app.include_router(agencies_router(pool))
    app.include_router(stats_router(pool, clock))
    mount_dead_letters(app, SERVICE, staff_secret=app.state.staff_secret)
    return app
