from datetime import UTC, date, datetime

from services.routing.domain import (
    MANUAL_DISPOSITION,
    Rule,
    add_working_days,
    choose_agency,
    is_working_day,
)

RULES = [
    Rule("land-national", "land", None, "ATR-BPN"),
    Rule("infrastructure-regional", "infrastructure", None, None),
    Rule("jakarta-infrastructure", "infrastructure", "31", "PEMDA-31", precedence=100),
]
AGENCIES = {"ATR-BPN", "PEMDA-31", "PEMDA-32.73", "PEMDA-32"}


def test_land_goes_to_the_national_land_agency() -> None:
    assignment = choose_agency(RULES, "land", "31.71", AGENCIES)
    assert (assignment.agency_code, assignment.rule_id) == ("ATR-BPN", "land-national")


def test_local_infrastructure_goes_to_the_regional_government() -> None:
    assignment = choose_agency(RULES, "infrastructure", "32.73", AGENCIES)
    assert assignment.agency_code == "PEMDA-32.73"


def test_a_more_specific_region_rule_wins() -> None:
    assignment = choose_agency(RULES, "infrastructure", "31.71", AGENCIES)
    assert assignment.rule_id == "jakarta-infrastructure"


def test_region_prefix_matches_whole_codes_only() -> None:
    rules = [Rule("r3", "infrastructure", "3", "X")]
    assert choose_agency(rules, "infrastructure", "31.71", {"X"}).agency_code == MANUAL_DISPOSITION


def test_unmatched_complaints_go_to_manual_disposition() -> None:
    assert choose_agency(RULES, "other", "31.71", AGENCIES).agency_code == MANUAL_DISPOSITION
    # a regional rule with an unknown regional government falls back too
    assert (
        choose_agency(RULES, "infrastructure", "99.99", AGENCIES).agency_code == MANUAL_DISPOSITION
    )


def test_working_days_skip_weekends_and_national_holidays() -> None:
    assert not is_working_day(date(2026, 8, 17))  # Independence Day, a Monday
    assert not is_working_day(date(2026, 8, 15))  # Saturday
    # Friday 14 Aug 2026 + 1 working day: Sat, Sun and the Monday holiday are skipped.
    due = add_working_days(datetime(2026, 8, 14, 3, 0, tzinfo=UTC), 1)
    assert due.date() == date(2026, 8, 18)


def test_fourteen_working_days_span_almost_three_weeks() -> None:
    due = add_working_days(datetime(2026, 11, 23, 3, 0, tzinfo=UTC), 14)  # a Monday
    assert due.date() == date(2026, 12, 11)
    assert due.tzinfo is not None
