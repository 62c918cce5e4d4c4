"""`bench/pipeline` runs with its one command and writes a complete result.

A tiny run (tens of complaints per phase): it checks that every phase completes every
complaint and that the report holds what docs/benchmarks.md quotes, never how fast anything
was. When the stack is the project's own local one, the bench is started without the stack in
its environment, as `make bench` starts it, so it finds (and if needed starts) the stack itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
N = 40
HTTP_N = 20


def test_the_pipeline_bench_completes_every_phase_and_reports_it(
    stack: Stack, tmp_path: Path
) -> None:
    env = {**os.environ, "LAPOR_LOG_LEVEL": "WARNING"}
    env.pop("LAPOR_TOPIC_PREFIX", None)  # the bench picks a fresh prefix per phase
    if stack.source.startswith("local"):
        env.pop("LAPOR_KAFKA_BOOTSTRAP", None)
        env.pop("LAPOR_DATABASE_URL", None)
    else:
        env["LAPOR_KAFKA_BOOTSTRAP"] = stack.kafka_bootstrap
        env["LAPOR_DATABASE_URL"] = stack.database_url
    command = [
        sys.executable,
        "-m",
        "bench.pipeline",
        *("--n", str(N), "--rate", "20", "--rate-seconds", "2", "--http-n", str(HTTP_N)),
        *("--results-dir", str(tmp_path)),
    ]
    # The timeout bounds a hang, not a speed requirement.
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=900)
    output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    assert done.returncode == 0, output[-4000:]

    (result_file,) = tmp_path.glob("pipeline-*.json")
    report = json.loads(result_file.read_text())
    assert report["baseline"]["count"] == N
    assert report["baseline_same_topology"]["count"] == N
    assert report["core_saturation"]["count"] == N
    assert report["core_fixed_rate"]["count"] == 20 * 2  # --rate 20 for --rate-seconds 2
    assert report["http_intake"]["count"] == HTTP_N and report["http_intake"]["errors"] == 0
    assert report["ratio_pipeline_to_baseline"] > 0
    assert report["ratio_pipeline_to_3hop_baseline"] > 0
    services = {"intake", "triage", "routing", "notifier"}
    # The broker and the database are found by their listening port when they run here.
    infrastructure = {"kafka", "postgresql"} if stack.source != "testcontainers" else set()
    for phase in ("core_saturation", "core_fixed_rate", "http_intake"):
        assert set(report[phase]["latency_ms"]) == {"p50", "p95", "p99"}
        assert set(report[phase]["peak_rss_mb"]) == services
        cpu = report[phase]["cpu_ms_per_complaint"]
        named = services | infrastructure | {"standins", "load_generator"}
        assert named | {"other", "whole_machine"} <= set(cpu)
        assert all(cpu[name] >= 0 for name in named) and cpu["whole_machine"] > 0
        assert report[phase]["messages_per_complaint"]["produced_total"] > 0
    for phase in ("core_saturation", "core_fixed_rate"):  # each ends with every complaint told
        messages = report[phase]["messages_per_complaint"]
        assert messages["produced"]["lapor.complaints.intake.v1"] == 1
        assert messages["consumed"]["lapor-notifier"]["lapor.complaints.intake.v1"] == 1
    assert report["baseline"]["cpu_ms_per_message"]["whole_machine"] > 0
    assert {"hop1", "hop2", "hop3"} <= set(report["baseline"]["cpu_ms_per_message"])
    same = report["baseline_same_topology"]
    assert services <= set(same["cpu_ms_per_complaint"])
    # One complaint in; triaged, assigned, and the two notifications on.
    assert same["messages_per_complaint"]["produced"] == {
        "lapor.complaints.intake.v1": 1,
        "lapor.complaints.triaged.v1": 1,
        "lapor.cases.v1": 1,
        "lapor.notifications.v1": 2,
    }
    assert "Kafka messages per complaint" in output
    assert sum(report["core_saturation"]["outcomes"].values()) == N
    assert (tmp_path / result_file.name.replace(".json", ".png")).stat().st_size > 0
    assert "pipeline at saturation" in output  # the progress bar was shown
