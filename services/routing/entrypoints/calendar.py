"""`/v1/calendar/overrides`: the working-day calendar's overrides (collective leave days off,
a declared working Saturday on); Setwapres administrators only."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from services.routing.adapters import views
from services.routing.entrypoints.access import ADMIN_ONLY, Admin, PoolGetter
from services.routing.entrypoints.fields import Text
from services.routing.handlers import admin
from services.runtime.http_problems import UNREADABLE_BODY, problem


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    working: bool = Field(description="false: a day off (cuti bersama); true: a working day")
    note: Text = Field(min_length=3, max_length=200)


class CalendarDayView(BaseModel):
    day: date
    working: bool
    note: str


def calendar_router(pool: PoolGetter) -> APIRouter:
    router = APIRouter(tags=["calendar"])

    @router.get("/v1/calendar/overrides", responses=ADMIN_ONLY)
    async def calendar_overrides(_: Admin) -> list[CalendarDayView]:
        rows = await views.calendar_overrides(pool())
        return [CalendarDayView.model_validate(dict(row)) for row in rows]

    @router.put("/v1/calendar/overrides/{day}", responses={**ADMIN_ONLY, **UNREADABLE_BODY})
    async def set_calendar_override(day: date, body: CalendarDayIn, _: Admin) -> CalendarDayView:
        """Deadlines already set keep their dates; new ones count this day as given."""
        async with pool().acquire() as conn:
            await admin.set_calendar_day(conn, day, working=body.working, note=body.note)
        return CalendarDayView(day=day, working=body.working, note=body.note)

    @router.delete(
        "/v1/calendar/overrides/{day}",
        status_code=204,
        responses={**ADMIN_ONLY, 404: problem("No override on that day")},
    )
    async def delete_calendar_override(day: date, _: Admin) -> None:
        async with pool().acquire() as conn:
            if not await admin.remove_calendar_day(conn, day):
                raise HTTPException(404, f"no override on {day.isoformat()}")

    return router
