"""The CI-sized chaos run: 500 complaints on all three channels while every service is SIGKILLed
three times, the broker and the database restart once each, and triage and routing run two
instances each (so rebalances happen too). `lapor chaos` runs the full-size version."""

from __future__ import annotations

import shutil
import uuid

import pytest

from ops.chaos import Chaos
from ops.infra import InfraConfig

pytestmark = pytest.mark.e2e


async def test_chaos_run_loses_and_doubles_nothing() -> None:
    # Under the project's state directory: the postgres user must be able to reach it.
    workdir = InfraConfig.from_env().state_dir / f"chaos-test-{uuid.uuid4().hex[:6]}"
    try:
        report = await Chaos(complaints=500, kills=3, seed=7, workdir=workdir).run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n" + report.table() + "\n" + "\n".join(report.actions))
    names = [name for name, *_ in report.rows]
    assert "cases in total (no doubles)" in names and "consumer lag left (triage)" in names
    assert report.passed, report.table()
