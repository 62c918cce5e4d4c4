"""Scaling under load (issue 8, item 4): each service is a consumer group, and adding or
removing an instance while complaints flow loses and doubles nothing.

Intake, triage, routing and the notifier run as processes (the notifier delivers SMS to a local
stand-in gateway). A driver hands complaints to intake's web API continuously; midway a second
triage and a second routing instance join their groups, later the first instance of each is
stopped with SIGTERM, and the driver keeps going through both rebalances. At the end every
complaint has exactly one triage decision event id, exactly one case and one CaseAssigned event
id, exactly one "received" and one "assigned" notification; no service dead-lettered anything.
While two instances share a group, each reports consumer lag only for the partitions it owns.

Every wait is a hang limit, not a speed check: a slow machine makes the test longer, not red.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from ops.standins import SmsGatewayStandIn
from schemas.topics import (
    CASES,
    COMPLAINTS_INTAKE,
    COMPLAINTS_TRIAGED,
    DEFAULT_PARTITIONS,
    SERVICES,
    TopicSpec,
)
from services.messaging.deadletter import read_dead_letters
from tests.support import ServiceProcess, eventually, free_port
from tests.support import distinct_complaint as support_distinct_complaint

pytestmark = pytest.mark.e2e
log = logging.getLogger(__name__)

# The driver keeps handing in complaints until both rebalances are behind it and at least this
# many went in; the phases below start after these many complaints (counted from the start).
MIN_COMPLAINTS = 300
SCALE_OUT_AFTER = 60
STOP_AFTER_MORE = 50
FINISH_AFTER_MORE = 50
# Complaints per tick and seconds per tick: ~6 per second on average, in bursts, so the
# consumers have fetched messages in hand when a rebalance takes their partitions away.
PER_TICK, TICK_SECONDS = 15, 2.5
# Extra complaints handed in at once when an instance joins or leaves: the moment a rebalance
# can drop or double what the consumers hold.
SURGE = 60
HANG_LIMIT = 600.0  # seconds; only bounds a hung run

_next_reporter = itertools.count(1)


def distinct_complaint() -> dict[str, object]:
    return support_distinct_complaint(next(_next_reporter), "0813")


class TopicReader:
    """Every event on one topic from the start of all partitions: complaint id → events."""

    def __init__(self, bootstrap: str, spec: TopicSpec) -> None:
        self.bootstrap = bootstrap
        self.spec = spec
        self.by_complaint: dict[str, list[dict[str, object]]] = defaultdict(list)
        self.where: dict[str, list[tuple[int, int]]] = defaultdict(list)  # partition, offset

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(
                [TopicPartition(self.spec.name, p) for p in range(self.spec.partitions)]
            )
            await consumer.seek_to_beginning()
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        event = json.loads(record.value)
                        complaint_id = str(event.get("complaint_id"))
                        self.by_complaint[complaint_id].append(event)
                        self.where[complaint_id].append((record.partition, record.offset))
        finally:
            await consumer.stop()


@contextlib.asynccontextmanager
async def reading(bootstrap: str, spec: TopicSpec) -> AsyncIterator[TopicReader]:
    reader = TopicReader(bootstrap, spec)
    task = asyncio.create_task(reader.run())
    try:
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Driver:
    """Hands complaints to intake at a steady pace until told to finish."""

    def __init__(self, intake_url: str) -> None:
        self.intake_url = intake_url
        self.codes: list[str] = []
        self.finish = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.extra = 0

    def start(self) -> Driver:
        self.task = asyncio.create_task(self.run(), name="driver")
        return self

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.intake_url, timeout=60) as client:
            while not (self.finish.is_set() and len(self.codes) >= MIN_COMPLAINTS):
                count, self.extra = PER_TICK + self.extra, 0
                self.codes += await asyncio.gather(*(self._submit(client) for _ in range(count)))
                await asyncio.sleep(TICK_SECONDS)

    async def _submit(self, client: httpx.AsyncClient) -> str:
        response = await client.post("/v1/complaints", json=distinct_complaint())
        assert response.status_code == 202, response.text
        return response.json()["tracking_code"]

    def surge(self) -> None:
        self.extra += SURGE

    async def reached(self, count: int) -> None:
        """Wait until `count` complaints went in; a failed driver fails the test at once."""

        async def far_enough() -> bool:
            assert self.task is not None
            if self.task.done():
                self.task.result()  # raises what stopped the driver
            return len(self.codes) >= count

        await eventually(far_enough, within=HANG_LIMIT, interval=0.2)

    async def stop(self) -> list[str]:
        self.finish.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, HANG_LIMIT)
        return list(self.codes)


async def lag_partitions(instance: ServiceProcess, topic: str) -> set[int]:
    """The partitions of `topic` this instance reports consumer lag for."""
    assert instance.process is not None
    if instance.process.poll() is not None:
        raise AssertionError(f"{instance.service} died:\n{instance.log_tail()}")
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            text = (await client.get(f"{instance.url}/metrics")).text
    except httpx.HTTPError:
        return set()  # busy; the caller polls again
    return {
        int(sample.labels["partition"])
        for family in text_string_to_metric_families(text)
        if family.name == "lapor_consumer_lag"
        for sample in family.samples
        if sample.labels["topic"] == topic
    }


async def lag_split_between(instances: list[ServiceProcess], topic: str) -> bool:
    """Every partition reported by exactly one of the instances."""
    reported = [await lag_partitions(instance, topic) for instance in instances]
    every = set(range(DEFAULT_PARTITIONS))
    union = set().union(*reported)
    return union == every and sum(len(parts) for parts in reported) == len(every)


@pytest.fixture(scope="module")
async def sms() -> AsyncIterator[SmsGatewayStandIn]:
    server = SmsGatewayStandIn()
    await server.serve(free_port())
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def env(stack, database_url: str, topics: list[str], sms: SmsGatewayStandIn) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_NOTIFIER_SMS_GATEWAY_URL": f"{sms.url}/sms",
        "LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN": sms.token,
        "LAPOR_NOTIFIER_RATE_LIMIT_COUNT": "100",
        # One load generator, one address: intake's per-IP limit is for the public.
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_PER_MINUTE": "1000000",
        "LAPOR_INTAKE_RATE_LIMIT_PER_IP_BURST": "100000",
    }


async def stop(instance: ServiceProcess) -> int | None:
    """SIGTERM, off the event loop so the driver keeps handing in complaints meanwhile."""
    return await asyncio.to_thread(instance.terminate, 120.0)


def triage_log_notes(log_dir: Path) -> list[str]:
    notes = []
    for path in sorted(log_dir.glob("triage-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if any(word in line for word in ("stalled", "DROPPED", "Traceback", "ERROR")):
                notes.append(f"{path.name}: {line[:300]}")
    return notes


async def missing_report(
    missing: list[str], complaint_ids: dict[str, str], bootstrap: str, log_dir: Path
) -> str:
    """Where the complaints without a decision sit on the intake topic, and what the triage
    instances logged about stalls and rebalances, for the failure message."""
    async with reading(bootstrap, COMPLAINTS_INTAKE) as intake:
        await asyncio.sleep(5)
        places = {code: intake.where.get(complaint_ids[code]) for code in missing}
    notes = await asyncio.to_thread(triage_log_notes, log_dir)
    return (
        f"{len(missing)} complaints never triaged; intake topic (partition, offset): {places}\n"
        f"triage logs in {log_dir}:\n" + "\n".join(notes[-40:])
    )


async def test_instances_join_and_leave_under_load_and_nothing_is_lost_or_doubled(
    stack,  # type: ignore[no-untyped-def]
    env: dict[str, str],
    db: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    running: list[ServiceProcess] = []
    driver: Driver | None = None

    def start(service: str) -> ServiceProcess:
        instance = ServiceProcess(service, env, tmp_path).start()
        running.append(instance)
        return instance

    try:
        intake, triage_one, routing_one, _notifier = (start(name) for name in SERVICES)
        for instance in running:
            await instance.wait_ready(within=HANG_LIMIT)

        async with (
            reading(stack.kafka_bootstrap, COMPLAINTS_TRIAGED) as decisions,
            reading(stack.kafka_bootstrap, CASES) as cases,
        ):
            driver = Driver(intake.url).start()

            # Scale out mid-run: a second triage and a second routing join their groups.
            await driver.reached(SCALE_OUT_AFTER)
            driver.surge()
            triage_two, routing_two = start("triage"), start("routing")
            await asyncio.gather(
                triage_two.wait_ready(within=HANG_LIMIT),
                routing_two.wait_ready(within=HANG_LIMIT),
            )
            scaled_out_at = len(driver.codes)
            # Each instance reports lag for the partitions it owns, none twice.
            await eventually(
                lambda: lag_split_between([triage_one, triage_two], COMPLAINTS_INTAKE.name),
                within=HANG_LIMIT,
                interval=1.0,
            )
            await eventually(
                lambda: lag_split_between([routing_one, routing_two], COMPLAINTS_TRIAGED.name),
                within=HANG_LIMIT,
                interval=1.0,
            )

            # Scale in mid-run: the first instance of each stops gracefully.
            await driver.reached(scaled_out_at + STOP_AFTER_MORE)
            driver.surge()
            await asyncio.sleep(TICK_SECONDS)  # the surge is on its way as they stop
            codes = await asyncio.gather(stop(triage_one), stop(routing_one))
            assert codes == [0, 0], f"SIGTERM exit codes (triage, routing): {codes}"
            stopped_at = len(driver.codes)
            await driver.reached(stopped_at + FINISH_AFTER_MORE)
            submitted = await driver.stop()
            log.warning(
                "scaling run: %d complaints; second instances ready after %d, first ones"
                " stopped after %d",
                len(submitted),
                scaled_out_at,
                stopped_at,
            )
            assert len(submitted) >= MIN_COMPLAINTS and len(set(submitted)) == len(submitted)

            rows = await db.fetch(
                "SELECT tracking_code, complaint_id::text FROM intake.complaints"
                " WHERE tracking_code = ANY($1)",
                submitted,
            )
            complaint_ids = {row["tracking_code"]: row["complaint_id"] for row in rows}
            assert len(complaint_ids) == len(submitted)

            # Every complaint gets a triage decision (at-least-once: a repeat shares its id).
            def undecided() -> list[str]:
                return [c for c in submitted if complaint_ids[c] not in decisions.by_complaint]

            async def all_decided() -> bool:
                return not undecided()

            try:
                await eventually(all_decided, within=HANG_LIMIT, interval=1.0)
            except AssertionError:
                missing = undecided()
                pytest.fail(
                    await missing_report(missing, complaint_ids, stack.kafka_bootstrap, tmp_path)
                )
            for code in submitted:
                emitted = decisions.by_complaint[complaint_ids[code]]
                ids = {event["event_id"] for event in emitted}
                assert len(ids) == 1, f"{code} got {len(ids)} different decisions: {emitted}"
            accepted = {
                code
                for code in submitted
                if decisions.by_complaint[complaint_ids[code]][0]["event_type"]
                == "ComplaintAccepted"
            }
            assert accepted == set(submitted), "every generated complaint is a valid one"

            # Exactly one case per accepted complaint, and one CaseAssigned event id.
            async def all_cases() -> bool:
                count = await db.fetchval(
                    "SELECT count(*) FROM routing.cases WHERE tracking_code = ANY($1)",
                    list(accepted),
                )
                return count == len(accepted)

            await eventually(all_cases, within=HANG_LIMIT, interval=1.0)
            per_code = await db.fetch(
                "SELECT tracking_code, count(*) AS n FROM routing.cases"
                " WHERE tracking_code = ANY($1) GROUP BY 1",
                submitted,
            )
            assert {row["tracking_code"] for row in per_code} == accepted
            assert all(row["n"] == 1 for row in per_code)

            async def all_assigned_events() -> bool:
                return all(complaint_ids[c] in cases.by_complaint for c in accepted)

            await eventually(all_assigned_events, within=HANG_LIMIT, interval=1.0)

        # One "received" and one "assigned" notification per complaint.
        async def notifications_complete() -> bool:
            rows = await db.fetch(
                "SELECT r.tracking_code, n.template, count(*) AS n FROM notifier.notifications n"
                " JOIN notifier.recipients r USING (complaint_id)"
                " WHERE r.tracking_code = ANY($1) AND n.template IN ('received', 'assigned')"
                " GROUP BY 1, 2",
                submitted,
            )
            doubled = [dict(row) for row in rows if row["n"] != 1]
            assert not doubled, f"notifications recorded twice: {doubled[:10]}"
            return len(rows) == 2 * len(submitted)

        await eventually(notifications_complete, within=HANG_LIMIT, interval=1.0)

        # The read model saw each assignment exactly once.
        async def timeline_complete() -> bool:
            rows = await db.fetch(
                "SELECT c.tracking_code, count(*) AS n FROM intake.complaint_timeline t"
                " JOIN intake.complaints c USING (complaint_id)"
                " WHERE c.tracking_code = ANY($1) AND t.event_type = 'CaseAssigned' GROUP BY 1",
                submitted,
            )
            assert all(row["n"] == 1 for row in rows), "a CaseAssigned applied twice"
            return len(rows) == len(submitted)

        await eventually(timeline_complete, within=HANG_LIMIT, interval=1.0)

        # Events handled more than once would show here as a second event id per complaint.
        for code in accepted:
            assigned = [
                event
                for event in cases.by_complaint[complaint_ids[code]]
                if event["event_type"] == "CaseAssigned"
            ]
            assert len({event["event_id"] for event in assigned}) == 1, code

        for service in SERVICES:
            letters = await read_dead_letters(stack.kafka_bootstrap, service)
            assert not letters, f"{service} dead-lettered: {[x.reason for x in letters[:5]]}"

        # The survivors took over every partition (and report lag for all of them).
        await eventually(
            lambda: lag_split_between([triage_two], COMPLAINTS_INTAKE.name),
            within=HANG_LIMIT,
            interval=1.0,
        )
        await eventually(
            lambda: lag_split_between([routing_two], COMPLAINTS_TRIAGED.name),
            within=HANG_LIMIT,
            interval=1.0,
        )
    finally:
        if driver is not None and driver.task is not None and not driver.task.done():
            driver.task.cancel()
        exit_codes = {
            f"{instance.service}:{instance.port}": await stop(instance) for instance in running
        }
        failed = {name: code for name, code in exit_codes.items() if code not in (0, None)}
        assert not failed, f"instances did not stop cleanly on SIGTERM: {failed}"
