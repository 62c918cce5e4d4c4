"""Routing's pure domain: choosing the agency for a complaint and the working-day deadline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

JAKARTA = ZoneInfo("Asia/Jakarta")
MANUAL_DISPOSITION = "SETWAPRES"
MANUAL_RULE_ID = "fallback-manual-disposition"
ANALYSIS_WORKING_DAYS = 14


@dataclass(frozen=True)
class Rule:
    rule_id: str
    category: str | None
    region_prefix: str | None
    agency_code: str | None  # None: the regional government of the complaint's region
    precedence: int = 100


@dataclass(frozen=True)
class Assignment:
    agency_code: str
    rule_id: str


def regional_agency_code(region_code: str) -> str:
    """Pemda code for a region: `PEMDA-31` (province) or `PEMDA-31.71` (regency/city)."""
    parts = region_code.split(".")
    return "PEMDA-" + ".".join(parts[:2])


def _specificity(rule: Rule) -> tuple[int, int, int]:
    return (
        -rule.precedence,
        len(rule.region_prefix or ""),
        1 if rule.category is not None else 0,
    )


def choose_agency(
    rules: Iterable[Rule], category: str, region_code: str | None, known_agencies: set[str]
) -> Assignment:
    """The most specific matching rule wins; without one, Setwapres disposes by hand."""
    candidates = [
        rule
        for rule in rules
        if (rule.category is None or rule.category == category)
        and (
            rule.region_prefix is None
            or (
                region_code is not None and (region_code + ".").startswith(rule.region_prefix + ".")
            )
        )
    ]
    for rule in sorted(candidates, key=_specificity, reverse=True):
        if rule.agency_code is not None:
            return Assignment(rule.agency_code, rule.rule_id)
        if region_code is not None:
            agency = regional_agency_code(region_code)
            if agency in known_agencies:
                return Assignment(agency, rule.rule_id)
    return Assignment(MANUAL_DISPOSITION, MANUAL_RULE_ID)


@cache
def _indonesian_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("ID", years=year)


def is_working_day(day: date, extra_days_off: frozenset[date] = frozenset()) -> bool:
    return (
        day.weekday() < 5
        and day not in _indonesian_holidays(day.year)
        and day not in extra_days_off
    )


def add_working_days(
    start: datetime, working_days: int, extra_days_off: frozenset[date] = frozenset()
) -> datetime:
    """End of the Nth working day after `start` (Asia/Jakarta), as an aware datetime."""
    day = start.astimezone(JAKARTA).date()
    remaining = working_days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, extra_days_off):
            remaining -= 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=JAKARTA)
