"""Triage is built by `build_app`, from settings checked once for production."""

from __future__ import annotations

import dataclasses

import pytest

from schemas.topics import COMPLAINTS_INTAKE, dead_letter_topic
from services.runtime.lifecycle import Settings
from services.runtime.settings import UnsafeConfiguration
from services.triage.bootstrap import build_app
from services.triage.settings import TriageSettings


def test_production_refuses_the_development_reporter_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAPOR_ENV", "production")
    monkeypatch.delenv("LAPOR_TRIAGE_REPORTER_KEY", raising=False)
    with pytest.raises(UnsafeConfiguration, match="LAPOR_TRIAGE_REPORTER_KEY"):
        build_app(Settings(), TriageSettings())


def test_the_app_carries_one_agent_on_the_intake_topic_no_tables_and_the_review_routes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAPOR_TRIAGE_REVIEWERS", "alice:alice-token")
    triage = build_app(Settings(), TriageSettings())
    agents = list(triage.app.agents.values())
    assert [agent.name.rsplit(".", 1)[-1] for agent in agents] == ["triage"]
    assert agents[0].concurrency == 1
    assert agents[0].channel.get_topic_name() == COMPLAINTS_INTAKE.name
    # No re-keying topics, no tables and so no changelogs: the state is in PostgreSQL.
    assert list(triage.app.tables) == []
    topics = triage.stream.topics
    declared = [getattr(topics, field.name) for field in dataclasses.fields(topics)]
    assert {topic.get_topic_name() for topic in declared} == {
        COMPLAINTS_INTAKE.name,
        dead_letter_topic("triage").name,
    }
    routes = triage.app.web.reverse_names
    assert routes["ReviewList"] == "/v1/review"
    assert routes["ReviewAction"] == "/v1/review/{complaint_id}/{action}"
    assert {"healthz", "readyz", "metrics"} <= set(routes)
    assert triage.triage_settings.reviewers == "alice:alice-token"
