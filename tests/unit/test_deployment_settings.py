"""Secrets with development defaults are refused outside development, by name."""

from __future__ import annotations

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import (
    UnsafeConfiguration,
    check_deployment,
    development_only,
    development_secret,
)


class ExampleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPOR_EXAMPLE_", extra="ignore")

    signing_key: str = development_secret("change-me")
    other_key: str = development_secret("dev-other")
    port: int = 8000
    frozen_clock: str | None = development_only()


def test_development_accepts_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAPOR_ENV", raising=False)
    check_deployment(ExampleSettings())
    monkeypatch.setenv("LAPOR_ENV", "test")
    check_deployment(ExampleSettings())


def test_production_names_every_variable_still_at_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAPOR_ENV", "production")
    monkeypatch.setenv("LAPOR_EXAMPLE_OTHER_KEY", "a-real-secret")
    with pytest.raises(UnsafeConfiguration) as refused:
        check_deployment(ExampleSettings())
    assert "LAPOR_EXAMPLE_SIGNING_KEY" in str(refused.value)
    assert "LAPOR_EXAMPLE_OTHER_KEY" not in str(refused.value)


def test_production_starts_once_every_secret_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAPOR_ENV", "production")
    monkeypatch.setenv("LAPOR_EXAMPLE_SIGNING_KEY", "s1")
    monkeypatch.setenv("LAPOR_EXAMPLE_OTHER_KEY", "s2")
    check_deployment(ExampleSettings())


def test_intake_declares_its_signing_keys_as_development_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.intake.settings import IntakeSettings

    monkeypatch.setenv("LAPOR_ENV", "production")
    with pytest.raises(UnsafeConfiguration) as refused:
        check_deployment(IntakeSettings())
    assert "LAPOR_INTAKE_ONE_TIME_CODE_KEY" in str(refused.value)
    assert "LAPOR_INTAKE_REPORTER_HASH_KEY" in str(refused.value)


def test_production_refuses_a_development_only_setting_that_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAPOR_EXAMPLE_SIGNING_KEY", "s1")
    monkeypatch.setenv("LAPOR_EXAMPLE_OTHER_KEY", "s2")
    monkeypatch.setenv("LAPOR_EXAMPLE_FROZEN_CLOCK", "2026-12-07T09:00:00+07:00")
    check_deployment(ExampleSettings())  # development: fine
    monkeypatch.setenv("LAPOR_ENV", "production")
    with pytest.raises(UnsafeConfiguration, match="LAPOR_EXAMPLE_FROZEN_CLOCK"):
        check_deployment(ExampleSettings())
