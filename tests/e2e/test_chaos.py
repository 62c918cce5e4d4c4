"""The CI-sized chaos run: 500 complaints on all three channels while every service is SIGKILLed
three times, the broker and the database restart once each, and triage and routing run two
instances each (so rebalances happen too). A share of the complaints carry documents (form
uploads, WhatsApp photos and PDFs) and a share get additions (TAMBAH#, the web page, the
owner API) while the kills go on; the run checks them exactly too. About half are triage's
kinds (exact repeats, near duplicates from other reporters of an area, pranks, daily-limit
bursts), each checked for its outcome. `lapor chaos` runs the
full-size version."""

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
    for name in (
        "case files (one per complaint)",
        "additions in routing.case_additions",
        "documents sealed (key, sha256, opens)",
        "records with document bytes",
        "exact repeats: one case, the repeat joined to it",
        "near duplicates: one case, the others joined to it",
        "pranks rejected",
        "bursts: the daily limit on, the rest held for review",
        "complaints decided twice",
    ):
        assert name in names
    # The documents, additions and triage's kinds were really in the mix (about half the
    # complaints are triage's kinds, which carry neither documents nor additions).
    counted = {name: expected for name, expected, *_ in report.rows}
    assert counted["documents stored once by intake"] >= 40
    assert counted["additions recorded once by intake"] >= 25
    assert counted["near duplicates: one case, the others joined to it"] >= 15
    assert report.passed, report.table()
