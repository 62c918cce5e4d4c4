"""The alert rules: promtool checks and unit-tests them, they name only series the services
export (collected from the code) with labels those series have, and the PrometheusRule
carries the same groups."""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from ops import deploy
from tests.deploy.conftest import DEPLOY, ROOT, tool

pytestmark = pytest.mark.deploy
RULE_FILE = DEPLOY / "alerts" / "lapor.yml"
RULE_TESTS = sorted((DEPLOY / "alerts" / "tests").glob("*.yml"))
METRIC_TYPES = {"Counter", "Gauge", "Histogram", "Summary"}
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
}
# Series from outside the services, each with who exports it.
OTHER_SERIES = {
    "up": ("Prometheus itself", {"job", "instance", "pod", "namespace"}),
    "kube_job_status_failed": ("kube-state-metrics", {"job", "namespace", "job_name"}),
}
# Labels Prometheus (and the operator's ServiceMonitor) put on every scraped series.
TARGET_LABELS = {"job", "instance", "pod", "namespace", "container", "endpoint"}
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "and", "or", "unless", "on",
    "ignoring", "group_left", "group_right", "rate", "irate", "increase", "delta", "deriv",
    "offset", "bool", "absent", "histogram_quantile",
}  # fmt: skip


@cache
def exported_series() -> dict[str, set[str]]:
    """Series name → label names, for every prometheus_client metric created in services/
    (read from the source, so a metric in any module counts)."""
    series: dict[str, set[str]] = {}
    for path in (ROOT / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            kind = getattr(node.func, "id", getattr(node.func, "attr", None))
            name = node.args[0]
            if kind not in METRIC_TYPES or not isinstance(name, ast.Constant):
                continue
            if not str(name.value).startswith("lapor_"):
                continue
            labels = set(ast.literal_eval(node.args[2])) if len(node.args) > 2 else set()
            base = str(name.value).removesuffix("_total") if kind == "Counter" else name.value
            for suffix in SUFFIXES[kind]:
                series[f"{base}{suffix}"] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULE_FILE.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def names_and_labels(expr: str) -> tuple[set[str], set[str]]:
    """The series names an expression reads and the label names it matches or groups by."""
    labels = set()
    for matcher in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matcher))
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    bare = re.sub(r'"[^"]*"|\boffset\s+\w+|\b\d[\w.]*', " ", bare)
    names = set(re.findall(r"[a-zA-Z_:][\w:]*", bare)) - PROMQL_WORDS
    return names, labels


def test_the_collector_finds_the_metrics_the_docs_list() -> None:
    series = exported_series()
    for name in ("lapor_consumer_lag", "lapor_events_dead_lettered_total", "lapor_ready"):
        assert name in series
    assert series["lapor_consumer_lag"] == {"service", "topic", "partition"}
    assert "lapor_handle_seconds_bucket" in series


def test_rules_name_only_exported_series_and_their_labels() -> None:
    series = exported_series()
    for expr in rule_expressions():
        names, labels = names_and_labels(expr)
        assert names, f"no series in {expr!r}"
        unknown = {name for name in names if name not in series and name not in OTHER_SERIES}
        assert not unknown, f"{expr!r} reads {unknown}, which no service exports"
        available = TARGET_LABELS.union(
            *(series.get(name) or OTHER_SERIES[name][1] for name in names)
        )
        assert labels <= available, f"{expr!r} uses labels {labels - available}"


def test_the_check_catches_a_renamed_metric() -> None:
    names, _ = names_and_labels('sum by (service) (lapor_outbox_backlogs{service="x"}) > 1')
    assert names == {"lapor_outbox_backlogs"}
    assert "lapor_outbox_backlogs" not in exported_series()


def test_rule_tests_feed_the_series_the_services_export() -> None:
    series = exported_series()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for item in case["input_series"]:
                name, _, matchers = item["series"].partition("{")
                labels = set(re.findall(r"([a-zA-Z_]\w*)=", matchers))
                known = series.get(name) or OTHER_SERIES.get(name, (None, None))[1]
                assert known is not None, f"{path.name}: {name} is exported by nothing"
                assert labels <= known | TARGET_LABELS, f"{path.name}: {item['series']}"


def test_every_alert_has_a_runbook_entry_and_a_test() -> None:
    groups = yaml.safe_load(RULE_FILE.read_text())["groups"]
    alerts = [rule["alert"] for group in groups for rule in group["rules"]]
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    tested = {
        test["alertname"]
        for path in RULE_TESTS
        for case in yaml.safe_load(path.read_text())["tests"]
        for test in case.get("alert_rule_test", [])
        if test.get("exp_alerts")
    }
    for alert in alerts:
        assert f"### {alert}" in runbook, f"docs/runbook.md has no section for {alert}"
        assert alert in tested, f"no promtool test expects {alert} to fire"


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_promtool_checks_the_rules_and_their_tests_pass() -> None:
    checked = promtool("check", "rules", RULE_FILE)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert RULE_TESTS
    tested = promtool("test", "rules", *RULE_TESTS)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr


def test_promtool_fails_a_wrong_expectation(tmp_path: Path) -> None:
    """The rule tests can fail: the same file expecting another figure does."""
    source = RULE_TESTS[0].read_text().replace("12000 events behind", "11000 events behind")
    wrong = tmp_path / "wrong_test.yml"
    wrong.write_text(source.replace("../lapor.yml", str(RULE_FILE)))
    assert promtool("test", "rules", wrong).returncode != 0


def test_the_prometheus_rule_carries_the_rule_file_groups() -> None:
    assert not deploy.stale_prometheus_rule(), "run `lapor deploy rules`"
    written = yaml.safe_load(deploy.PROMETHEUS_RULE.read_text())
    assert written["spec"]["groups"] == yaml.safe_load(RULE_FILE.read_text())["groups"]
