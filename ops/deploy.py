"""The Kubernetes deployment's derived files (deploy/, docs/kubernetes.md).

The alert rules are written once, as a plain Prometheus rule file (deploy/alerts/lapor.yml,
which `promtool test rules` tests); the Prometheus operator's PrometheusRule in
deploy/components/monitoring carries the same groups and is written from it here
(`lapor deploy rules`), never by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
RULE_FILE = DEPLOY / "alerts" / "lapor.yml"
PROMETHEUS_RULE = DEPLOY / "components" / "monitoring" / "prometheusrule.yaml"
HEADER = (
    "# Written by `lapor deploy rules` from deploy/alerts/lapor.yml (the rules and their\n"
    "# promtool tests live there); tests/deploy fails when the two differ.\n"
)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the rules' expressions) as literal blocks, as in the rule file."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def rule_groups() -> list[dict[str, Any]]:
    return yaml.safe_load(RULE_FILE.read_text())["groups"]


def prometheus_rule_text() -> str:
    """The PrometheusRule object holding deploy/alerts/lapor.yml's groups."""
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "lapor"},
        "spec": {"groups": rule_groups()},
    }
    return HEADER + yaml.dump(
        rule, Dumper=_BlockDumper, sort_keys=False, width=100, allow_unicode=True
    )


def stale_prometheus_rule() -> bool:
    return not PROMETHEUS_RULE.exists() or PROMETHEUS_RULE.read_text() != prometheus_rule_text()


def write_prometheus_rule() -> Path:
    PROMETHEUS_RULE.write_text(prometheus_rule_text())
    return PROMETHEUS_RULE
