"""The bench's accounting: CPU and Kafka messages per complaint from before/after readings."""

from __future__ import annotations

from bench.accounting import Offsets, cpu_ms_per_unit, messages_per_unit
from bench.passthrough import parse_routes


def test_cpu_per_unit_names_each_group_and_leaves_the_rest_to_other() -> None:
    before = {"notifier": 10.0, "kafka": 100.0, "whole_machine": 1000.0}
    after = {"notifier": 11.0, "kafka": 102.0, "whole_machine": 1005.0}
    assert cpu_ms_per_unit(before, after, 1000) == {
        "notifier": 1.0,
        "kafka": 2.0,
        "other": 2.0,
        "whole_machine": 5.0,
    }
    assert cpu_ms_per_unit(before, after, 0) == {}


def test_messages_per_unit_counts_what_moved_under_the_prefix_names() -> None:
    before = Offsets({"p.a": 0, "p.b": 10}, {("p.g", "p.a"): 0})
    after = Offsets(
        {"p.a": 200, "p.b": 10, "p.c": 400},
        {("p.g", "p.a"): 200, ("p.h", "p.c"): 300, ("p.h", "p.a"): 200},
    )
    assert messages_per_unit(before, after, "p.", 200) == {
        "produced": {"a": 1.0, "c": 2.0},
        "consumed": {"g": {"a": 1.0}, "h": {"a": 1.0, "c": 1.5}},
        "produced_total": 3.0,
        "consumed_total": 3.5,
    }


def test_pass_through_routes_may_only_consume() -> None:
    assert parse_routes(["in=out,copy", "status=", "in=more"]) == {
        "in": ["out", "copy", "more"],
        "status": [],
    }
