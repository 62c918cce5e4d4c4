"""Routing's handlers, desk API, rules API and deadline scheduler against the real
PostgreSQL server (in a schema of their own), with a frozen clock."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import httpx
import pytest

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintDuplicateDetected,
    ComplaintDuplicateDetectedPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Location,
    Priority,
    Reporter,
    parse_event,
    serialize_event,
)
from services.messaging import outbox
from services.messaging.database import create_pool
from services.personal_data.keystore import default_keystore
from services.routing.adapters import repository
from services.routing.domain import JAKARTA, EscalationContacts
from services.routing.entrypoints.app import create_app
from services.routing.handlers.deadlines import scan_deadlines
from services.routing.handlers.opening import join_duplicate, open_case, open_cases
from services.triage.handlers.stages import decide
from tests.agency_cases import OFFICERS, auth, routing_database

pytestmark = pytest.mark.integration
SCHEMA = "routing_it"
# Thursday 13 Aug 2026, 09:00 WIB: the weekend and Independence Day (Mon 17 Aug) follow.
THURSDAY = datetime(2026, 8, 13, 9, 0, tzinfo=JAKARTA)


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    officers = (
        *OFFICERS,
        ("officer-bandung", "PEMDA-32.73", "officer"),
        ("officer-jabar", "PEMDA-32", "officer"),
    )
    pool = await routing_database(database_url, SCHEMA, officers)
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(THURSDAY)


@pytest.fixture
async def api(pool: asyncpg.Pool, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lambda: pool, clock, keys=default_keystore())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://routing"
    ) as client:
        yield client


def accepted(
    category: Category,
    region: str | None,
    *,
    priority: Priority = Priority.NORMAL,
    at: datetime = THURSDAY,
) -> ComplaintAccepted:
    complaint_id = uuid.uuid4()
    return ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        occurred_at=at,
        payload=ComplaintAcceptedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-TEST-AAA",
            channel=Channel.WEB,
            category=category,
            priority=priority,
            region_code=region,
            summary="Jalan rusak dan sertifikat tanah",
        ),
    )


async def handle(pool: asyncpg.Pool, handler, event) -> list:  # type: ignore[no-untyped-def]
    """Run a handler as the consumer loop does: one transaction, events into the outbox."""
    async with pool.acquire() as conn, conn.transaction():
        events = list(await handler(event, conn))
        await outbox.enqueue(conn, events)
    return events


async def outbox_events(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list:  # type: ignore[type-arg]
    rows = await pool.fetch(f"SELECT payload FROM {SCHEMA}.outbox ORDER BY id")
    events = [parse_event(row["payload"]) for row in rows]
    return [event for event in events if event.complaint_id == complaint_id]


async def test_an_accepted_complaint_opens_one_case_with_its_rule_and_deadlines(
    pool: asyncpg.Pool,
) -> None:
    event = accepted(Category.LAND, "31.71")
    (assigned,) = await handle(pool, open_case, event)
    assert assigned.payload.agency_code == "ATR-BPN"
    assert (assigned.payload.rule_id, assigned.payload.rule_version) == ("land-national", 1)
    # 5 working days from Thu 13 Aug: Fri 14, Tue 18, Wed 19, Thu 20, Fri 21 Aug.
    assert assigned.payload.response_due_at == datetime(2026, 8, 21, 23, 59, 59, tzinfo=JAKARTA)
    for _ in range(3):
        assert await handle(pool, open_case, event) == []
    case_id = assigned.payload.case_id
    assert await pool.fetchval("SELECT count(*) FROM cases WHERE case_id = $1", case_id) == 1
    kinds = await pool.fetch("SELECT kind FROM case_deadlines WHERE case_id = $1", case_id)
    assert sorted(row["kind"] for row in kinds) == ["agency_response", "analysis"]
    assert (
        await pool.fetchval("SELECT agency_code FROM sp4n_forwardings WHERE case_id = $1", case_id)
        == "ATR-BPN"
    )


async def test_urgent_health_complaints_take_the_priority_override(pool: asyncpg.Pool) -> None:
    (urgent,) = await handle(
        pool, open_case, accepted(Category.HEALTH, "32", priority=Priority.URGENT)
    )
    (normal,) = await handle(pool, open_case, accepted(Category.HEALTH, "32"))
    assert (urgent.payload.agency_code, normal.payload.agency_code) == ("BPJS-KES", "KEMENKES")


async def test_rules_are_versioned_data_and_each_case_records_its_version(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    rule = {
        "rule_id": "bogor-roads",
        "category": "infrastructure",
        "region_prefix": "32.71",
        "agency_code": "PEMDA-32",
        "precedence": 50,
        "description": "Bogor city roads are a provincial matter this year",
    }
    assert (await api.post("/v1/rules", json=rule)).status_code == 401
    assert (await api.post("/v1/rules", json=rule, headers=auth("officer-atr"))).status_code == 403
    bad = await api.post(
        "/v1/rules", json={**rule, "agency_code": "NOPE"}, headers=auth("admin-setwapres")
    )
    assert bad.status_code == 422 and "NOPE" in bad.text
    created = await api.post("/v1/rules", json=rule, headers=auth("admin-setwapres"))
    assert created.status_code == 201 and created.json()["version"] == 1
    again = await api.post("/v1/rules", json=rule, headers=auth("admin-setwapres"))
    assert again.status_code == 409

    (first,) = await handle(pool, open_case, accepted(Category.INFRASTRUCTURE, "32.71.01"))
    assert (first.payload.agency_code, first.payload.rule_version) == ("PEMDA-32", 1)

    changed = {key: value for key, value in rule.items() if key != "rule_id"}
    changed["agency_code"] = None  # back to the city's own government
    updated = await api.put("/v1/rules/bogor-roads", json=changed, headers=auth("admin-setwapres"))
    assert updated.status_code == 200 and updated.json()["version"] == 2
    (second,) = await handle(pool, open_case, accepted(Category.INFRASTRUCTURE, "32.71.01"))
    assert (second.payload.agency_code, second.payload.rule_version) == ("PEMDA-32.71", 2)
    stored = await pool.fetch(
        "SELECT rule_id, rule_version FROM cases WHERE case_id = ANY($1::uuid[])",
        [first.payload.case_id, second.payload.case_id],
    )
    assert sorted((r["rule_id"], r["rule_version"]) for r in stored) == [
        ("bogor-roads", 1),
        ("bogor-roads", 2),
    ]
    versions = await api.get("/v1/rules/bogor-roads/versions", headers=auth("admin-setwapres"))
    assert [v["agency_code"] for v in versions.json()] == ["PEMDA-32", None]


async def test_an_officer_never_reads_or_changes_another_agencys_case(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    (assigned,) = await handle(pool, open_case, accepted(Category.LAND, "31.71"))
    case_id = assigned.payload.case_id
    own = await api.get(f"/v1/desk/cases/{case_id}", headers=auth("officer-atr"))
    assert own.status_code == 200 and own.json()["agency_code"] == "ATR-BPN"

    stranger = auth("officer-jakpus")  # the regional government of the same region
    assert (await api.get(f"/v1/desk/cases/{case_id}", headers=stranger)).status_code == 404
    inbox = await api.get("/v1/desk/cases", headers=stranger)
    assert str(case_id) not in inbox.text
    for action in ("accept", "respond", "request-documents", "not-in-remit", "close"):
        response = await api.post(
            f"/v1/desk/cases/{case_id}/{action}", json={"note": "x"}, headers=stranger
        )
        assert response.status_code == 404, (action, response.text)
    dispose = f"/v1/desk/cases/{case_id}/dispose"
    handed = {"agency_code": "PEMDA-31.71"}
    # disposing is Setwapres' own admins' work, and only for cases in the manual queue
    assert (await api.post(dispose, json=handed, headers=stranger)).status_code == 403
    assert (await api.post(dispose, json=handed, headers=auth("officer-atr"))).status_code == 403
    assert (
        await api.post(dispose, json=handed, headers=auth("admin-setwapres"))
    ).status_code == 404
    # a Setwapres administrator may read any agency's case file (issue 14), but works only
    # their own desk: the inbox and the desk's actions stay scoped to their agency
    setwapres = auth("admin-setwapres")
    assert (await api.get(f"/v1/desk/cases/{case_id}", headers=setwapres)).status_code == 200
    assert str(case_id) not in (await api.get("/v1/desk/cases", headers=setwapres)).text
    accept = await api.post(f"/v1/desk/cases/{case_id}/accept", headers=setwapres)
    assert accept.status_code == 404
    summary = {"summary": "Sertifikat sedang diproses."}
    public = f"/v1/desk/cases/{case_id}/public-summary"
    assert (await api.post(public, json=summary, headers=stranger)).status_code == 404
    # no token, a wrong token, a deactivated officer: all refused
    assert (await api.get(f"/v1/desk/cases/{case_id}")).status_code == 401
    wrong = {"Authorization": "Bearer token-officer-atr-but-not-quite"}
    assert (await api.get(f"/v1/desk/cases/{case_id}", headers=wrong)).status_code == 401
    await repository.create_officer(pool, "officer-atr-retired", "ATR-BPN", "token-retired")
    await pool.execute(
        "UPDATE officers SET active = false WHERE officer_id = 'officer-atr-retired'"
    )
    retired = {"Authorization": "Bearer token-retired"}
    assert (await api.get(f"/v1/desk/cases/{case_id}", headers=retired)).status_code == 401
    # nothing changed
    assert await pool.fetchval("SELECT status FROM cases WHERE case_id = $1", case_id) == "assigned"
    assert await pool.fetchval("SELECT agency_code FROM cases WHERE case_id = $1", case_id) == (
        "ATR-BPN"
    )
    assert await pool.fetchval("SELECT count(*) FROM case_history WHERE case_id = $1", case_id) == 1


async def test_the_lifecycle_through_the_desk_publishes_each_change(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    event = accepted(Category.LAND, "31.71")
    (assigned,) = await handle(pool, open_case, event)
    case = f"/v1/desk/cases/{assigned.payload.case_id}"
    atr = auth("officer-atr")
    assert (await api.post(f"{case}/respond", headers=atr)).status_code == 409
    for step, status in (
        ("accept", "in_progress"),
        ("request-documents", "awaiting_documents"),
        ("accept", "in_progress"),
        ("respond", "responded"),
        ("close", "closed"),
    ):
        response = await api.post(f"{case}/{step}", json={"note": f"{step} note"}, headers=atr)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    changes = [
        e
        for e in await outbox_events(pool, event.complaint_id)
        if e.event_type == "CaseStatusChanged"
    ]
    assert [(e.payload.previous_status, e.payload.status) for e in changes] == [
        ("assigned", "in_progress"),
        ("in_progress", "awaiting_documents"),
        ("awaiting_documents", "in_progress"),
        ("in_progress", "responded"),
        ("responded", "closed"),
    ]
    assert {e.payload.actor for e in changes} == {"officer-atr"}
    inbox = await api.get("/v1/desk/cases?status=closed&category=land", headers=atr)
    assert str(assigned.payload.case_id) in inbox.text
    assert {c["status"] for c in inbox.json()["cases"]} == {"closed"}
    overdue = await api.get("/v1/desk/cases?overdue=true", headers=atr)
    assert str(assigned.payload.case_id) not in overdue.text  # its deadlines were met
    # The public summary (intake's Open311 view shows it): kept, shown on the desk, published.
    written = "Sertifikat tanah warga telah terbit setelah pemeriksaan berkas."
    response = await api.post(f"{case}/public-summary", json={"summary": written}, headers=atr)
    assert response.status_code == 200, response.text
    detail = await api.get(case, headers=atr)
    assert detail.json()["public_summary"] == written
    (published,) = [
        e
        for e in await outbox_events(pool, event.complaint_id)
        if e.event_type == "CasePublicSummaryPublished"
    ]
    assert published.payload.summary == written and published.payload.published_by == "officer-atr"
    withdrawn = await api.post(f"{case}/public-summary", json={"summary": " "}, headers=atr)
    assert withdrawn.json()["public_summary"] is None


async def test_not_in_remit_reroutes_to_the_next_competent_agency(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    event = accepted(Category.INFRASTRUCTURE, "32.73")
    (assigned,) = await handle(pool, open_case, event)
    assert assigned.payload.agency_code == "PEMDA-32.73"
    case = f"/v1/desk/cases/{assigned.payload.case_id}"
    response = await api.post(
        f"{case}/not-in-remit",
        json={"reason": "jalan provinsi, bukan jalan kota"},
        headers=auth("officer-bandung"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["agency_code"] == "PEMDA-32"
    assert (await api.get(case, headers=auth("officer-bandung"))).status_code == 404
    view = (await api.get(case, headers=auth("officer-jabar"))).json()
    assert view["status"] == "assigned" and view["response_due_at"] is not None
    events = await outbox_events(pool, event.complaint_id)
    assert [e.event_type for e in events] == ["CaseAssigned", "CaseStatusChanged", "CaseAssigned"]
    assert events[1].payload.status == "not_in_remit"
    assert events[2].payload.previous_agency_code == "PEMDA-32.73"
    # the province declines too: no rule is left, Setwapres disposes by hand
    await api.post(f"{case}/not-in-remit", json={"reason": "x"}, headers=auth("officer-jabar"))
    assert (
        await pool.fetchval(
            "SELECT agency_code FROM cases WHERE case_id = $1", assigned.payload.case_id
        )
        == "SETWAPRES"
    )
    refused = await api.post(f"{case}/not-in-remit", json={}, headers=auth("admin-setwapres"))
    assert refused.status_code == 409  # the manual desk disposes, it cannot decline
    disposed = await api.post(
        f"{case}/dispose", json={"agency_code": "KEMENPU"}, headers=auth("admin-setwapres")
    )
    assert disposed.status_code == 200, disposed.text
    assert (
        await pool.fetchval(
            "SELECT rule_id FROM cases WHERE case_id = $1", assigned.payload.case_id
        )
        == "manual-disposition"
    )


async def test_duplicates_join_the_original_case_whichever_arrives_first(
    pool: asyncpg.Pool,
) -> None:
    original = accepted(Category.LAND, "31.71")

    def duplicate_of(event: ComplaintAccepted) -> ComplaintDuplicateDetected:
        complaint_id = uuid.uuid4()
        return ComplaintDuplicateDetected(
            complaint_id=complaint_id,
            correlation_id=complaint_id,
            producer="triage",
            payload=ComplaintDuplicateDetectedPayload(
                tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-DUPL-AAA",
                original_complaint_id=event.complaint_id,
                original_tracking_code=event.payload.tracking_code,
                similarity=0.93,
            ),
        )

    early = duplicate_of(original)
    assert await handle(pool, join_duplicate, early) == []  # waits for the case
    assigned, joined = await handle(pool, open_case, original)
    assert joined.event_type == "CaseReporterJoined"
    assert joined.complaint_id == early.complaint_id
    assert joined.payload.case_id == assigned.payload.case_id
    late = duplicate_of(original)
    (joined_late,) = await handle(pool, join_duplicate, late)
    assert joined_late.payload.original_tracking_code == original.payload.tracking_code
    assert await handle(pool, join_duplicate, late) == []  # a replay changes nothing
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM case_reporters WHERE case_id = $1", assigned.payload.case_id
        )
        == 2
    )


def duplicate_of(event: ComplaintAccepted) -> ComplaintDuplicateDetected:
    complaint_id = uuid.uuid4()
    return ComplaintDuplicateDetected(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintDuplicateDetectedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-DUPL-AAA",
            original_complaint_id=event.complaint_id,
            original_tracking_code=event.payload.tracking_code,
            similarity=0.93,
        ),
    )


def canonical(text: str) -> str:
    """Ids and tracking codes renamed by first appearance, so two runs on different
    complaints compare equal when they did the same things in the same order."""
    names: dict[str, str] = {}
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|LPR-[0-9A-Z]{4}-"
    return re.sub(pattern, lambda match: names.setdefault(match[0], f"<{len(names)}>"), text)


async def case_rows(pool: asyncpg.Pool, complaint_ids: list[uuid.UUID]) -> str:
    """Everything opening a case writes, per complaint in order, without the moment of now."""
    rows = []
    for complaint_id in complaint_ids:
        case_id = uuid.uuid5(complaint_id, "case")
        rows.append(
            [
                [dict(row) for row in await pool.fetch(query, case_id)]
                for query in (
                    "SELECT complaint_id, tracking_code, category, priority, channel, region_code,"
                    " summary, secret, agency_code, rule_id, rule_version, status, due_at,"
                    " created_at, updated_at FROM cases WHERE case_id = $1",
                    "SELECT previous_status, status, agency_code, actor, reason, note"
                    " FROM case_history WHERE case_id = $1 ORDER BY id",
                    "SELECT kind, round, due_at, met_at, next_alert FROM case_deadlines"
                    " WHERE case_id = $1 ORDER BY kind, round",
                    "SELECT round, agency_code, next_attempt_at FROM sp4n_forwardings"
                    " WHERE case_id = $1",
                    "SELECT complaint_id, tracking_code FROM case_reporters WHERE case_id = $1",
                )
            ]
        )
    return canonical(json.dumps(rows, default=str))


async def test_a_batch_of_acceptances_does_what_one_by_one_does(pool: asyncpg.Pool) -> None:
    async def run(batch: bool) -> tuple[str, str]:
        land = accepted(Category.LAND, "31.71")  # forwarded through SP4N-LAPOR!
        unrouted = accepted(Category.OTHER, None)  # manual disposition: no agency deadline
        urgent = accepted(Category.HEALTH, "32.73", priority=Priority.URGENT)
        opened = accepted(Category.EDUCATION, "35.78")
        await handle(pool, open_case, opened)  # a case from an earlier batch
        early = duplicate_of(urgent)
        assert await handle(pool, join_duplicate, early) == []  # waits for urgent's case
        again = land.model_copy(update={"event_id": uuid.uuid5(land.event_id, "again")})
        events = [land, unrouted, again, urgent, opened]
        async with pool.acquire() as conn, conn.transaction():
            if batch:
                out = await open_cases(list(events), conn)
            else:
                out = [caused for event in events for caused in await open_case(event, conn)]
        published = [
            {
                key: value
                for key, value in json.loads(serialize_event(event)).items()
                if key != "occurred_at"
            }
            for event in out
        ]
        complaints = [land.complaint_id, unrouted.complaint_id, urgent.complaint_id]
        return canonical(json.dumps(published)), await case_rows(pool, complaints)

    one_by_one = await run(batch=False)
    assert await run(batch=True) == one_by_one
    types = [event["event_type"] for event in json.loads(one_by_one[0])]
    assert types == ["CaseAssigned", "CaseAssigned", "CaseAssigned", "CaseReporterJoined"]


async def test_deadlines_across_a_weekend_and_a_holiday_escalate_once(
    pool: asyncpg.Pool, database_url: str
) -> None:
    event = accepted(Category.LAND, "31.71")
    (assigned,) = await handle(pool, open_case, event)
    case_id = assigned.payload.case_id

    async def alerts() -> list[tuple[str, str]]:
        events = await outbox_events(pool, event.complaint_id)
        return [
            (
                e.event_type,
                f"{e.payload.deadline_kind}:{getattr(e.payload, 'escalation_level', '')}",
            )
            for e in events
            if e.event_type in ("CaseDeadlineApproaching", "CaseOverdue")
            and e.payload.deadline_kind == "agency_response"
        ]

    await scan_deadlines(pool, datetime(2026, 8, 18, 23, 0, tzinfo=JAKARTA))
    assert await alerts() == []
    await scan_deadlines(pool, datetime(2026, 8, 19, 8, 0, tzinfo=JAKARTA))
    assert await alerts() == [("CaseDeadlineApproaching", "agency_response:")]
    await scan_deadlines(pool, datetime(2026, 8, 21, 23, 59, tzinfo=JAKARTA))  # still due today
    saturday = datetime(2026, 8, 22, 9, 0, tzinfo=JAKARTA)
    await scan_deadlines(pool, saturday)
    # A restart: a fresh pool and scanner, the same moment and later, fire nothing new.
    restarted = await create_pool(database_url, SCHEMA)
    try:
        await scan_deadlines(restarted, saturday)
        await scan_deadlines(restarted, datetime(2026, 8, 27, 23, 0, tzinfo=JAKARTA))
    finally:
        await restarted.close()
    assert await alerts() == [
        ("CaseDeadlineApproaching", "agency_response:"),
        ("CaseOverdue", "agency_response:1"),
    ]
    # Three more working days (Tue 25 Aug is the Prophet's Birthday): Setwapres, once.
    for _ in range(2):
        await scan_deadlines(pool, datetime(2026, 8, 28, 8, 0, tzinfo=JAKARTA))
    overdue = [
        e for e in await outbox_events(pool, event.complaint_id) if e.event_type == "CaseOverdue"
    ]
    levels = [
        (e.payload.deadline_kind, e.payload.escalation_level, e.payload.escalated_to)
        for e in overdue
    ]
    assert levels == [
        ("agency_response", 1, "Inspektorat Jenderal Kementerian ATR/BPN"),
        ("agency_response", 2, "Sekretariat Wakil Presiden"),
    ]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM deadline_alerts WHERE case_id = $1 AND alert LIKE 'overdue%'",
            case_id,
        )
        == 2
    )


async def test_two_instances_scanning_at_once_fire_each_alert_once(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The deadline scheduler runs on every routing instance (no leader): two scans of the
    same moment from two instances' pools lock the case in turn and record each alert once,
    so any replica count is safe (docs/kubernetes.md)."""
    event = accepted(Category.LAND, "31.71")
    (assigned,) = await handle(pool, open_case, event)
    other_instance = await create_pool(database_url, SCHEMA)
    saturday = datetime(2026, 8, 22, 9, 0, tzinfo=JAKARTA)  # approaching and overdue are due
    try:
        fired = await asyncio.gather(
            scan_deadlines(pool, saturday), scan_deadlines(other_instance, saturday)
        )
    finally:
        await other_instance.close()
    kinds = [
        (e.event_type, e.payload.deadline_kind)
        for e in await outbox_events(pool, event.complaint_id)
        if e.event_type in ("CaseDeadlineApproaching", "CaseOverdue")
    ]
    assert sorted(kinds) == sorted(set(kinds)), kinds  # nothing twice
    assert ("CaseOverdue", "agency_response") in kinds
    assert sum(fired) == len(kinds)  # what both scans fired together, once each
    recorded = await pool.fetch(
        "SELECT alert, count(*) AS n FROM deadline_alerts WHERE case_id = $1 GROUP BY alert",
        assigned.payload.case_id,
    )
    assert recorded and all(row["n"] == 1 for row in recorded)


async def test_the_scheduler_visits_a_case_only_when_one_of_its_alerts_is_due(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    (assigned,) = await handle(pool, open_case, accepted(Category.LAND, "31.71"))
    case_id = assigned.payload.case_id  # agency response due Fri 21 Aug, analysis Fri 4 Sep
    visits: list[datetime] = []
    lock_case = repository.lock_case

    async def counting_lock(
        conn: asyncpg.Connection, wanted: uuid.UUID, agency_code: str | None
    ) -> asyncpg.Record | None:
        if wanted == case_id:
            visits.append(now)
        return await lock_case(conn, wanted, agency_code)

    monkeypatch.setattr(repository, "lock_case", counting_lock)

    async def next_alerts() -> dict[str, str | None]:
        rows = await pool.fetch(
            "SELECT kind, next_alert FROM case_deadlines WHERE case_id = $1", case_id
        )
        return {row["kind"]: row["next_alert"] for row in rows}

    now = datetime(2026, 8, 14, 12, 0, tzinfo=JAKARTA)
    await scan_deadlines(pool, now)
    assert visits == []  # the old 21-day horizon visited it on every scan
    # A collective leave day on Thu 20 Aug moves the warning to Tue 18: the window follows
    # the calendar as it is at the scan.
    await pool.execute(
        "INSERT INTO calendar_overrides VALUES ('2026-08-20', false, 'cuti bersama (test)')"
    )
    try:
        now = datetime(2026, 8, 18, 8, 0, tzinfo=JAKARTA)
        await scan_deadlines(pool, now)
    finally:
        await pool.execute("DELETE FROM calendar_overrides WHERE day = '2026-08-20'")
    assert visits == [now]
    assert await next_alerts() == {"agency_response": "overdue-1", "analysis": "approaching"}
    for now in (
        datetime(2026, 8, 19, 8, 0, tzinfo=JAKARTA),
        datetime(2026, 8, 21, 23, 59, tzinfo=JAKARTA),
    ):
        await scan_deadlines(pool, now)
    assert len(visits) == 1  # nothing more is due until the deadline passes
    now = saturday = datetime(2026, 8, 22, 9, 0, tzinfo=JAKARTA)
    await scan_deadlines(pool, saturday)
    assert visits[1:] == [saturday]
    assert await next_alerts() == {"agency_response": "overdue-2", "analysis": "approaching"}
    await pool.execute("UPDATE case_deadlines SET met_at = $2 WHERE case_id = $1", case_id, now)
    now = datetime(2026, 9, 30, 9, 0, tzinfo=JAKARTA)
    await scan_deadlines(pool, now)
    assert len(visits) == 2  # met deadlines are out of the window


async def test_a_collective_leave_day_from_the_override_table_moves_the_due_date(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=JAKARTA)
    (before,) = await handle(pool, open_case, accepted(Category.LAND, "31", at=monday))
    leave = {"working": False, "note": "cuti bersama (test)"}
    url = "/v1/calendar/overrides/2026-12-02"
    assert (await api.put(url, json=leave, headers=auth("officer-atr"))).status_code == 403
    assert (await api.put(url, json=leave, headers=auth("admin-setwapres"))).status_code == 200
    bad = await api.put(
        "/v1/calendar/overrides/2026-13-01", json=leave, headers=auth("admin-setwapres")
    )
    assert bad.status_code == 422
    try:
        (after,) = await handle(pool, open_case, accepted(Category.LAND, "31", at=monday))
        listed = await api.get("/v1/calendar/overrides", headers=auth("admin-setwapres"))
        assert {"day": "2026-12-02", "working": False, "note": "cuti bersama (test)"} in (
            listed.json()
        )
    finally:
        deleted = await api.delete(url, headers=auth("admin-setwapres"))
        assert deleted.status_code == 204
    assert (await api.delete(url, headers=auth("admin-setwapres"))).status_code == 404
    assert before.payload.response_due_at.date().isoformat() == "2026-12-07"
    assert after.payload.response_due_at.date().isoformat() == "2026-12-08"


async def test_missing_documents_close_the_case_after_ten_days(
    pool: asyncpg.Pool, api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    event = accepted(Category.LAND, "31.71")
    (assigned,) = await handle(pool, open_case, event)
    case = f"/v1/desk/cases/{assigned.payload.case_id}"
    response = await api.post(
        f"{case}/request-documents", json={"note": "kirim SHM"}, headers=auth("officer-atr")
    )
    assert response.status_code == 200
    await scan_deadlines(pool, datetime(2026, 8, 23, 23, 0, tzinfo=JAKARTA))  # day 10
    assert (
        await pool.fetchval("SELECT status FROM cases WHERE case_id = $1", assigned.payload.case_id)
        == "awaiting_documents"
    )
    await scan_deadlines(pool, datetime(2026, 8, 24, 0, 5, tzinfo=JAKARTA))
    assert (
        await pool.fetchval("SELECT status FROM cases WHERE case_id = $1", assigned.payload.case_id)
        == "closed"
    )
    closed = [
        e
        for e in await outbox_events(pool, event.complaint_id)
        if e.event_type == "CaseStatusChanged"
    ][-1]
    assert (closed.payload.status, closed.payload.reason, closed.payload.actor) == (
        "closed",
        "documents_not_received",
        "scheduler",
    )


async def test_statistics_count_cases_and_draw_a_chart(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    # Counted relative to what this test opens: other tests' cases come and go.
    before = (await api.get("/v1/stats")).json()
    created = 10
    for _ in range(created):
        await handle(pool, open_case, accepted(Category.LAND, "31.71"))  # web, to ATR/BPN
    figures = (await api.get("/v1/stats")).json()

    def added(key: str, name: str) -> int:
        return figures[key].get(name, 0) - before[key].get(name, 0)

    assert figures["total_cases"] - before["total_cases"] == created
    assert added("by_channel", "web") == created
    assert figures["by_channel"]["web"] == figures["total_cases"]  # every case here is web
    assert added("by_agency", "Kementerian ATR/BPN") == created
    assert set(figures["deadline_compliance"]) >= {"analysis", "agency_response"}
    # the frozen clock's day is in the trend
    daily = sum(day["cases"] for day in figures["daily_new_cases"])
    assert daily - sum(day["cases"] for day in before["daily_new_cases"]) == created
    page = await api.get("/stats")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count("<svg") >= 5 and "Kementerian ATR/BPN" in page.text
    json.dumps(figures)  # plain JSON, no datetimes leaking


async def test_the_inbox_filters_overdue_cases_by_the_clock(
    pool: asyncpg.Pool, api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    (assigned,) = await handle(pool, open_case, accepted(Category.LAND, "31.71", at=THURSDAY))
    case_id = str(assigned.payload.case_id)
    atr = auth("officer-atr")

    async def listed(overdue: bool) -> bool:
        url = f"/v1/desk/cases?overdue={str(overdue).lower()}&limit=500"
        return case_id in (await api.get(url, headers=atr)).text

    assert await listed(False) and not await listed(True)
    clock.now = datetime(2026, 8, 22, 9, 0, tzinfo=JAKARTA)  # past Friday's response deadline
    assert await listed(True) and not await listed(False)


async def test_overdue_cases_carry_who_is_emailed_and_are_listed_for_setwapres_admins(
    pool: asyncpg.Pool, api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    contacts = EscalationContacts(
        public_base_url="https://lapor.example.go.id/routing",
        setwapres_email="eskalasi@set.wapresri.go.id",
    )
    contact = "/v1/agencies/ATR-BPN/escalation"
    admin = auth("admin-setwapres")
    itjen = {"supervisor": "Inspektorat Jenderal Kementerian ATR/BPN"}
    # Setwapres' administrators set who is emailed (the directory file sets the same).
    for refused in ("officer-atr", "officer-jakpus"):
        response = await api.put(contact, json=itjen, headers=auth(refused))
        assert response.status_code == 403
    bad = await api.put(contact, json={**itjen, "supervisor_email": "itjen"}, headers=admin)
    assert bad.status_code == 422
    unknown = await api.put("/v1/agencies/NO-SUCH/escalation", json=itjen, headers=admin)
    assert unknown.status_code == 404
    response = await api.put(
        contact, json={**itjen, "supervisor_email": "itjen@atrbpn.go.id"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert (await api.get(contact, headers=admin)).json() == {
        "agency_code": "ATR-BPN",
        "name": "Kementerian ATR/BPN",
        **itjen,
        "supervisor_email": "itjen@atrbpn.go.id",
    }
    try:
        event = accepted(Category.LAND, "31.71")  # ATR/BPN, response due Fri 21 Aug
        (assigned,) = await handle(pool, open_case, event)
        case_id = assigned.payload.case_id
        link = f"https://lapor.example.go.id/routing/v1/desk/cases/{case_id}"
        listing = "/v1/escalations/overdue?agency_code=ATR-BPN&limit=500"

        async def ours() -> list[dict[str, object]]:
            response = await api.get(listing, headers=admin)
            assert response.status_code == 200, response.text
            cases = response.json()["cases"]
            due = [c["due_at"] for c in cases]
            assert due == sorted(due, key=datetime.fromisoformat)  # oldest first
            return [c for c in cases if c["case_id"] == str(case_id)]

        clock.now = datetime(2026, 8, 22, 9, 0, tzinfo=JAKARTA)
        (before_scan,) = await ours()  # overdue, not escalated yet
        assert (before_scan["deadline_kind"], before_scan["escalation_level"]) == (
            "agency_response",
            0,
        )
        await scan_deadlines(pool, clock.now, contacts)
        await scan_deadlines(pool, datetime(2026, 8, 28, 8, 0, tzinfo=JAKARTA), contacts)
        overdue = [
            e
            for e in await outbox_events(pool, event.complaint_id)
            if e.event_type == "CaseOverdue"
        ]
        assert [
            (e.payload.escalation_level, e.payload.escalation_email, e.payload.case_url)
            for e in overdue
        ] == [(1, "itjen@atrbpn.go.id", link), (2, "eskalasi@set.wapresri.go.id", link)]

        clock.now = datetime(2026, 8, 28, 9, 0, tzinfo=JAKARTA)
        (listed,) = await ours()
        assert listed["tracking_code"] == event.payload.tracking_code
        assert listed["agency_name"] == "Kementerian ATR/BPN"
        assert (listed["escalation_level"], listed["escalated_to"]) == (
            2,
            "Sekretariat Wakil Presiden",
        )
        assert listed["due_at"].startswith("2026-08-21")
        level_two = await api.get(f"{listing}&level=2", headers=admin)
        assert str(case_id) in level_two.text
        level_one = await api.get(f"{listing}&level=1", headers=admin)
        assert str(case_id) not in level_one.text
        # Only Setwapres' administrators read across agencies.
        for refused in ("officer-atr", "officer-jakpus"):
            assert (await api.get(listing, headers=auth(refused))).status_code == 403
        assert (await api.get(listing)).status_code == 401
        # Answered: off the list.
        for step in ("accept", "respond"):
            response = await api.post(
                f"/v1/desk/cases/{case_id}/{step}", json={"note": step}, headers=auth("officer-atr")
            )
            assert response.status_code == 200, response.text
        assert await ours() == []
    finally:
        assert (await api.put(contact, json=itjen, headers=admin)).status_code == 200


# ------------------------------------------------------------------- the incident region


def triaged(nik: str, incident_region: str | None) -> ComplaintAccepted:
    """What triage decides for a complaint about a broken bridge from a reporter with this
    NIK, about a place in `incident_region` (None: the citizen named no place)."""
    complaint_id = uuid.uuid4()
    received = ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        occurred_at=THURSDAY,
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-TEST-BBB",
            channel=Channel.WEB,
            reporter=Reporter(name="Warga", nik=nik, phone="+6281234567890"),
            description="Jembatan desa retak parah dan bergoyang kalau dilewati mobil, jalan"
            " di sekitarnya juga berlubang besar.",
            location=Location(region_code=incident_region),
            received_at=THURSDAY,
        ),
    )
    decision = decide(received)
    assert isinstance(decision, ComplaintAccepted), decision
    return decision


async def test_a_case_goes_to_the_incident_regions_government_and_says_so(
    pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    jakarta_pusat_nik = "3171011501900001"
    # A Jakarta Pusat resident reports a bridge in Kota Bandung: Bandung's government acts.
    (away,) = await handle(pool, open_case, triaged(jakarta_pusat_nik, "32.73.01"))
    assert away.payload.agency_code == "PEMDA-32.73"
    case = await api.get(f"/v1/desk/cases/{away.payload.case_id}", headers=auth("officer-bandung"))
    assert case.status_code == 200, case.text
    assert (case.json()["region_code"], case.json()["region_source"]) == ("32.73", "incident")
    inbox = await api.get("/v1/desk/cases", headers=auth("officer-bandung"))
    listed = {c["case_id"]: c for c in inbox.json()["cases"]}
    assert listed[str(away.payload.case_id)]["region_source"] == "incident"
    home = await api.get(f"/v1/desk/cases/{away.payload.case_id}", headers=auth("officer-jakpus"))
    assert home.status_code == 404  # the reporter's home government does not hold it

    # Without a place, the reporter's NIK region is the fallback, and the case says so.
    (fallback,) = await handle(pool, open_case, triaged(jakarta_pusat_nik, None))
    assert fallback.payload.agency_code == "PEMDA-31.71"
    seen = await api.get(
        f"/v1/desk/cases/{fallback.payload.case_id}", headers=auth("officer-jakpus")
    )
    assert (seen.json()["region_code"], seen.json()["region_source"]) == ("31.71", "reporter_nik")
    stored = await pool.fetch(
        "SELECT region_source FROM cases WHERE case_id = ANY($1::uuid[]) ORDER BY created_at",
        [away.payload.case_id, fallback.payload.case_id],
    )
    assert {row["region_source"] for row in stored} == {"incident", "reporter_nik"}
