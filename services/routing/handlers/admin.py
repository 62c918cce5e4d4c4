"""Setwapres' administration: routing rules as versioned data, the working-day calendar's
overrides, who an agency's overdue cases escalate to, and the agencies' details. Each
command runs in the caller's transaction."""

from __future__ import annotations

import dataclasses
from datetime import date

import asyncpg

from services.routing.adapters import repository
from services.routing.adapters.repository import RuleVersion
from services.routing.domain import UnknownAgency


class RuleExists(Exception):
    """A new rule under an id already taken."""


class RuleNotFound(Exception):
    """A change to a rule that does not exist."""


async def _check_agency(conn: asyncpg.Connection, agency_code: str | None) -> None:
    if agency_code is not None and not await repository.agency_exists(conn, agency_code):
        raise UnknownAgency(agency_code)


async def create_rule(conn: asyncpg.Connection, rule: RuleVersion) -> asyncpg.Record:
    """The rule's first version; raises UnknownAgency, or RuleExists."""
    await _check_agency(conn, rule.agency_code)
    if await repository.rule_exists(conn, rule.rule_id):
        raise RuleExists(rule.rule_id)
    return await repository.write_rule(conn, dataclasses.replace(rule, version=1))


async def update_rule(conn: asyncpg.Connection, rule: RuleVersion) -> asyncpg.Record:
    """The rule's next version; raises UnknownAgency, or RuleNotFound."""
    await _check_agency(conn, rule.agency_code)
    version = await repository.lock_rule_version(conn, rule.rule_id)
    if version is None:
        raise RuleNotFound(rule.rule_id)
    return await repository.write_rule(conn, dataclasses.replace(rule, version=version + 1))


async def set_calendar_day(
    conn: asyncpg.Connection, day: date, *, working: bool, note: str
) -> None:
    """Deadlines already set keep their dates; new ones count this day as given."""
    await repository.set_calendar_override(conn, day, working, note)


async def remove_calendar_day(conn: asyncpg.Connection, day: date) -> bool:
    """False when there was no override on that day."""
    return await repository.delete_calendar_override(conn, day)


async def set_escalation_contact(
    conn: asyncpg.Connection, agency_code: str, supervisor: str | None, email: str | None
) -> asyncpg.Record | None:
    """Level-1 escalations of this agency go to `supervisor` at `email` from the next one on
    (None: nobody is emailed); None when there is no such agency."""
    return await repository.set_escalation_contact(conn, agency_code, supervisor, email)


async def edit_agency(
    conn: asyncpg.Connection, agency_code: str, fields: dict[str, object]
) -> asyncpg.Record | None:
    """Replace the agency's editable fields (`directory.AGENCY_EDITABLE`) from the next case
    on; None when there is no such agency."""
    return await repository.update_agency(conn, agency_code, fields)
