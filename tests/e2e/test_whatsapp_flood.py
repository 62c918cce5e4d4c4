"""A small WhatsApp flood against a running intake process (bench/whatsapp_flood.py runs the
50,000-message version): every message acknowledged, worked off exactly once, and intake's
memory bounded. No assertion on speed: this box is shared; the bench reports the figures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.whatsapp_flood import APP_SECRET, flood_running_intake
from tests.e2e.test_intake_whatsapp import Intake

pytestmark = pytest.mark.e2e

MESSAGES = 2000
PEAK_RSS_BOUND_MB = 400  # generous: intake idles near 100 MB; unbounded buffering would not


@pytest.fixture(scope="module")
async def intake(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[Intake]:  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_INTAKE_WHATSAPP_APP_SECRET": APP_SECRET,
        "LAPOR_LOG_LEVEL": "WARNING",
    }
    service = Intake(env, tmp_path_factory.mktemp("intake-flood-logs"))
    await service.start()
    yield service
    assert service.process.terminate() == 0, service.process.log_tail()


async def test_a_flood_is_acknowledged_and_worked_off_exactly_once_in_bounded_memory(
    intake: Intake, database_url: str
) -> None:
    assert intake.process.process is not None
    report = await flood_running_intake(
        intake.url,
        database_url,
        MESSAGES,
        concurrency=64,
        pid=intake.process.process.pid,
        within=900,  # bounds a hang, not a speed requirement
    )
    print("\n".join(report.lines()))
    assert report.sent == MESSAGES and report.statuses[200] >= MESSAGES
    assert report.inbox_seconds is not None, "the inbox was not worked off"
    assert report.outbox_seconds is not None, "the outbox was not published"
    assert report.lost_or_doubled() == []
    assert report.reports_sent == MESSAGES // 2 and report.complaints == report.reports_sent
    assert 0 < report.peak_rss_mb < PEAK_RSS_BOUND_MB, report.peak_rss_mb
    assert '"level": "ERROR"' not in intake.process.log_text()
