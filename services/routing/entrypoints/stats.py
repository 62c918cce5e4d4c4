"""`/v1/stats` and `/stats`: public on purpose. Counts per channel, category, province,
status and agency, and deadline compliance; no case, tracking code, text or reporter
appears."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from services.routing.adapters import views
from services.routing.entrypoints.access import Clock, PoolGetter
from services.routing.entrypoints.stats_page import render_page


class Compliance(BaseModel):
    met_on_time: int
    met_late: int
    open_overdue: int
    open_in_time: int
    on_time_rate: float | None


class DailyCount(BaseModel):
    day: date
    cases: int


class Satisfaction(BaseModel):
    """The citizens' answers to an agency's closings (PUAS / TIDAK PUAS)."""

    satisfied: int
    not_satisfied: int
    reopened: int = Field(description="Refusals that re-opened the case for Setwapres")
    answered_cases: int
    closed_cases: int
    response_rate: float | None = Field(
        description="Share of the agency's closed cases answered by at least one reporter"
    )


class Statistics(BaseModel):
    generated_at: datetime
    total_cases: int
    by_channel: dict[str, int]
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_status: dict[str, int]
    by_agency: dict[str, int]
    deadline_compliance: dict[str, Compliance]
    daily_new_cases: list[DailyCount]
    satisfaction: dict[str, Satisfaction] = Field(
        default_factory=dict, description="Per agency (by name): the citizens' answers"
    )


def stats_router(pool: PoolGetter, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["stats"])

    @router.get("/v1/stats")
    async def statistics() -> Statistics:
        async with pool().acquire() as conn:
            return Statistics.model_validate(await views.statistics(conn, clock()))

    @router.get("/stats", response_class=HTMLResponse)
    async def statistics_page() -> HTMLResponse:
        async with pool().acquire() as conn:
            figures = await views.statistics(conn, clock())
        return HTMLResponse(render_page(figures))

    return router
