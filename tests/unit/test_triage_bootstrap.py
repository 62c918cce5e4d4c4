"""Triage is built by `build_app`, from settings checked once for production."""

from __future__ import annotations

import pytest

from services.runtime.lifecycle import Settings
from services.runtime.settings import UnsafeConfiguration
from services.triage.bootstrap import build_app
from services.triage.settings import TriageSettings


def test_production_refuses_the_development_reporter_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAPOR_ENV", "production")
    monkeypatch.delenv("LAPOR_TRIAGE_REPORTER_KEY", raising=False)
    with pytest.raises(UnsafeConfiguration, match="LAPOR_TRIAGE_REPORTER_KEY"):
        build_app(Settings(), TriageSettings())


def test_the_app_carries_three_agents_the_review_routes_and_the_internal_topics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAPOR_TRIAGE_REVIEWERS", "alice:alice-token")
    triage = build_app(Settings(), TriageSettings())
    agents = sorted(name.rsplit(".", 1)[-1] for name in triage.app.agents)
    assert agents == ["by_area", "by_reporter", "triage"]
    routes = triage.app.web.reverse_names
    assert routes["ReviewList"] == "/v1/review"
    assert routes["ReviewAction"] == "/v1/review/{complaint_id}/{action}"
    assert {"healthz", "readyz", "metrics"} <= set(routes)
    internal = [name for name, _, _ in triage.stream.internal_topics()]
    assert internal[0].endswith("lapor-triage-by-reporter")
    assert internal[1].endswith("lapor-triage-by-area")
    assert len(internal) == 7
    assert triage.triage_settings.reviewers == "alice:alice-token"
