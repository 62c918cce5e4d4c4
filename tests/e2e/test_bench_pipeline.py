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
    assert report["core_saturation"]["count"] == N
    assert report["core_fixed_rate"]["count"] == 20 * 2  # --rate 20 for --rate-seconds 2
    assert report["http_intake"]["count"] == HTTP_N and report["http_intake"]["errors"] == 0
    assert report["ratio_pipeline_to_baseline"] > 0
    for phase in ("core_saturation", "core_fixed_rate", "http_intake"):
        assert set(report[phase]["latency_ms"]) == {"p50", "p95", "p99"}
        assert set(report[phase]["peak_rss_mb"]) == {"intake", "triage", "routing", "notifier"}
        cpu = report[phase]["cpu_ms_per_complaint"]
        assert set(cpu) == {"intake", "triage", "routing", "notifier", "whole_machine"}
        assert all(value >= 0 for value in cpu.values())
    assert report["baseline"]["cpu_ms_per_message"]["whole_machine"] > 0
    assert sum(report["core_saturation"]["outcomes"].values()) == N
    assert (tmp_path / result_file.name.replace(".json", ".png")).stat().st_size > 0
    assert "pipeline at saturation" in output  # the progress bar was shown
