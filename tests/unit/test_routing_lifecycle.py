"""Routing's pure domain: priority overrides, re-routing exclusions, the case lifecycle,
calendar overrides and the deadline alerts, with fixed clocks."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from schemas.events.routing import CaseStatus, DeadlineKind
from services.routing.domain import (
    ALERT_SEQUENCE,
    JAKARTA,
    MANUAL_DISPOSITION,
    Action,
    Alert,
    OpenDeadline,
    Rule,
    TransitionNotAllowed,
    WorkingCalendar,
    alert_window,
    alerts_due,
    check_desk_action,
    choose_agency,
    documents_due,
    next_alert,
    next_status,
)
from services.routing.entrypoints.stats_page import bar_chart

RULES = [
    Rule("health-national", "health", None, "KEMENKES"),
    Rule("health-urgent-bpjs", "health", None, "BPJS-KES", priority="urgent", version=3),
    Rule("infrastructure-regional", "infrastructure", None, None),
    Rule("override-all-land", "land", None, "KPK", precedence=10),
    Rule("land-national", "land", None, "ATR-BPN"),
]
KNOWN = {"KEMENKES", "BPJS-KES", "ATR-BPN", "KPK", "PEMDA-32", "PEMDA-32.73", "PEMDA-32.04"}


def test_an_urgent_complaint_takes_the_priority_override() -> None:
    urgent = choose_agency(RULES, "health", "31.71", KNOWN, priority="urgent")
    assert (urgent.agency_code, urgent.rule_id, urgent.rule_version) == (
        "BPJS-KES",
        "health-urgent-bpjs",
        3,
    )
    assert choose_agency(RULES, "health", "31.71", KNOWN).agency_code == "KEMENKES"


def test_a_lower_precedence_number_overrides_everything_else() -> None:
    assert choose_agency(RULES, "land", "31.71", KNOWN).rule_id == "override-all-land"


def test_rerouting_skips_agencies_that_declined() -> None:
    first = choose_agency(RULES, "land", None, KNOWN, excluded=frozenset({"KPK"}))
    assert first.agency_code == "ATR-BPN"
    both = frozenset({"KPK", "ATR-BPN"})
    assert choose_agency(RULES, "land", None, KNOWN, excluded=both).agency_code == (
        MANUAL_DISPOSITION
    )


def test_a_declined_regency_passes_the_case_to_its_province() -> None:
    regency = choose_agency(RULES, "infrastructure", "32.73.01", KNOWN)
    assert regency.agency_code == "PEMDA-32.73"
    province = choose_agency(
        RULES, "infrastructure", "32.73.01", KNOWN, excluded=frozenset({"PEMDA-32.73"})
    )
    assert province.agency_code == "PEMDA-32"
    # an unknown regency goes to its province too
    assert choose_agency(RULES, "infrastructure", "32.99", KNOWN).agency_code == "PEMDA-32"


def test_a_regional_rule_without_a_region_falls_back_to_manual_disposition() -> None:
    assert choose_agency(RULES, "infrastructure", None, KNOWN).agency_code == MANUAL_DISPOSITION


def test_the_lifecycle_runs_assigned_to_closed() -> None:
    status = CaseStatus.ASSIGNED
    for action in (Action.ACCEPT, Action.REQUEST_DOCUMENTS, Action.ACCEPT, Action.RESPOND):
        status = next_status(status, action)
    assert status is CaseStatus.RESPONDED
    assert next_status(status, Action.CLOSE) is CaseStatus.CLOSED


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (CaseStatus.ASSIGNED, Action.RESPOND),  # accept first
        (CaseStatus.ASSIGNED, Action.CLOSE),
        (CaseStatus.CLOSED, Action.ACCEPT),
        (CaseStatus.RESPONDED, Action.NOT_IN_REMIT),
        (CaseStatus.AWAITING_DOCUMENTS, Action.RESPOND),
    ],
)
def test_steps_out_of_order_are_refused(current: CaseStatus, action: Action) -> None:
    with pytest.raises(TransitionNotAllowed):
        next_status(current, action)


def test_the_steps_routing_and_the_scheduler_take_are_transitions_too() -> None:
    assert next_status(CaseStatus.NOT_IN_REMIT, Action.REROUTE) is CaseStatus.ASSIGNED
    with pytest.raises(TransitionNotAllowed):
        next_status(CaseStatus.IN_PROGRESS, Action.REROUTE)  # only after a not-in-remit
    for status in CaseStatus:
        assert next_status(status, Action.DISPOSE) is CaseStatus.ASSIGNED
        if status is not CaseStatus.CLOSED:
            assert next_status(status, Action.DOCUMENTS_NOT_RECEIVED) is CaseStatus.CLOSED
    with pytest.raises(TransitionNotAllowed):
        next_status(CaseStatus.CLOSED, Action.DOCUMENTS_NOT_RECEIVED)


def test_setwapres_disposes_its_queue_instead_of_declaring_it_not_in_remit() -> None:
    assert check_desk_action(Action.NOT_IN_REMIT, CaseStatus.ASSIGNED, "KEMENKES") is (
        CaseStatus.NOT_IN_REMIT
    )
    with pytest.raises(TransitionNotAllowed):
        check_desk_action(Action.NOT_IN_REMIT, CaseStatus.ASSIGNED, MANUAL_DISPOSITION)


def test_calendar_overrides_add_leave_days_and_working_saturdays() -> None:
    friday = datetime(2026, 12, 18, 10, 0, tzinfo=JAKARTA)
    plain = WorkingCalendar()
    assert plain.add_working_days(friday, 1).date() == date(2026, 12, 21)
    leave = WorkingCalendar(days_off=frozenset({date(2026, 12, 21)}))
    assert leave.add_working_days(friday, 1).date() == date(2026, 12, 22)
    saturday = WorkingCalendar(working_days=frozenset({date(2026, 12, 19)}))
    assert saturday.add_working_days(friday, 1).date() == date(2026, 12, 19)


def test_the_agency_window_crosses_a_weekend_and_independence_day() -> None:
    # Assigned Thursday 13 Aug 2026; Sat 15, Sun 16 and Mon 17 (Independence Day) are off.
    assigned = datetime(2026, 8, 13, 2, 0, tzinfo=UTC)
    due = WorkingCalendar().add_working_days(assigned, 5)
    assert due == datetime(2026, 8, 21, 23, 59, 59, tzinfo=JAKARTA)


def test_alerts_fire_in_order_and_never_twice() -> None:
    due = datetime(2026, 8, 21, 23, 59, 59, tzinfo=JAKARTA)  # a Friday
    deadline = OpenDeadline(DeadlineKind.AGENCY_RESPONSE, due)
    assert alerts_due(deadline, datetime(2026, 8, 18, 23, 0, tzinfo=JAKARTA)) == []
    # two working days before the due day: Wednesday 19 Aug
    assert alerts_due(deadline, datetime(2026, 8, 19, 0, 0, tzinfo=JAKARTA)) == [Alert.APPROACHING]
    saturday = datetime(2026, 8, 22, 9, 0, tzinfo=JAKARTA)
    assert alerts_due(deadline, saturday) == [Alert.APPROACHING, Alert.OVERDUE_SUPERVISOR]
    fired = OpenDeadline(deadline.kind, due, frozenset({Alert.APPROACHING}))
    assert alerts_due(fired, saturday) == [Alert.OVERDUE_SUPERVISOR]
    # Setwapres after three more working days: Mon 24, Wed 26, Thu 27 Aug (Tue 25 Aug 2026
    # is the Prophet's Birthday)
    escalated = OpenDeadline(
        deadline.kind, due, frozenset({Alert.APPROACHING, Alert.OVERDUE_SUPERVISOR})
    )
    assert alerts_due(escalated, datetime(2026, 8, 27, 23, 0, tzinfo=JAKARTA)) == []
    assert alerts_due(escalated, datetime(2026, 8, 28, 0, 1, tzinfo=JAKARTA)) == [
        Alert.OVERDUE_SETWAPRES
    ]


def test_missing_documents_expire_after_ten_calendar_days() -> None:
    requested = datetime(2026, 12, 1, 9, 0, tzinfo=JAKARTA)
    due = documents_due(requested)
    assert due == datetime(2026, 12, 11, 23, 59, 59, tzinfo=JAKARTA)
    deadline = OpenDeadline(DeadlineKind.DOCUMENTS, due, frozenset({Alert.APPROACHING}))
    assert alerts_due(deadline, datetime(2026, 12, 12, 0, 0, 1, tzinfo=JAKARTA)) == [
        Alert.DOCUMENTS_EXPIRED
    ]


def test_the_next_alert_follows_each_kinds_sequence() -> None:
    agency = DeadlineKind.AGENCY_RESPONSE
    assert next_alert(agency, ()) is Alert.APPROACHING
    assert next_alert(agency, {Alert.APPROACHING}) is Alert.OVERDUE_SUPERVISOR
    assert next_alert(agency, {Alert.APPROACHING, Alert.OVERDUE_SUPERVISOR}) is (
        Alert.OVERDUE_SETWAPRES
    )
    assert next_alert(agency, set(ALERT_SEQUENCE[agency])) is None
    assert next_alert(DeadlineKind.DOCUMENTS, {Alert.APPROACHING}) is Alert.DOCUMENTS_EXPIRED
    assert next_alert(DeadlineKind.DOCUMENTS, set(ALERT_SEQUENCE[DeadlineKind.DOCUMENTS])) is None


def test_the_alert_window_holds_exactly_the_deadlines_with_an_alert_due() -> None:
    """The scheduler visits a deadline iff it is due before the bound of its next alert; that
    must be the same as alerts_due finding something, across weekends, holidays (17 and 25 Aug
    2026) and calendar overrides, at any time of day."""
    calendars = [
        WorkingCalendar(),
        WorkingCalendar(
            days_off=frozenset({date(2026, 8, 20), date(2026, 8, 27), date(2026, 8, 28)}),
            working_days=frozenset({date(2026, 8, 22)}),
        ),
    ]
    start = datetime(2026, 8, 1, tzinfo=JAKARTA)
    draw = random.Random(20260813)
    for _ in range(4000):
        calendar = draw.choice(calendars)
        now = start + timedelta(minutes=draw.randrange(60 * 24 * 50))
        due = start + timedelta(minutes=draw.randrange(60 * 24 * 50))
        if draw.random() < 0.5:  # deadlines usually end a day
            due = due.replace(hour=23, minute=59, second=59)
        kind = draw.choice(list(DeadlineKind))
        fired = frozenset(ALERT_SEQUENCE[kind][: draw.randrange(len(ALERT_SEQUENCE[kind]) + 1)])
        following = next_alert(kind, fired)
        visited = following is not None and due < alert_window(now, calendar).bound(following)
        due_alerts = alerts_due(OpenDeadline(kind, due, fired), now, calendar)
        assert visited == bool(due_alerts), (now, due, kind, fired)


def test_the_chart_is_svg_and_escapes_labels() -> None:
    svg = bar_chart("Per instansi", {"Kementerian ATR/BPN": 3, "<script>": 1})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 2


def test_sp4n_backoff_doubles_up_to_a_ceiling() -> None:
    from services.routing.adapters.sp4n import backoff

    assert [backoff(n, 5, 60).total_seconds() for n in range(1, 6)] == [5, 10, 20, 40, 60]


def test_sp4n_wire_format_maps_fields_and_finds_the_remote_id() -> None:
    from services.routing.adapters.sp4n import WireFormat

    wire = WireFormat(fields={"tracking_code": "ticket", "due": "deadline"}, static={"kind": "x"})
    moment = datetime(2026, 8, 21, 23, 59, 59, tzinfo=JAKARTA)
    assert wire.body({"tracking_code": "LPR-1", "due": moment, "nik": "3171..."}) == {
        "kind": "x",
        "ticket": "LPR-1",
        "deadline": "2026-08-21T23:59:59+07:00",
    }
    assert wire.remote_id({"data": {"tracking_id": 4100001}}) == "4100001"
    for answer in ({"data": {}}, {"data": {"tracking_id": ""}}, ["not", "a", "mapping"]):
        with pytest.raises(ValueError):
            wire.remote_id(answer)
