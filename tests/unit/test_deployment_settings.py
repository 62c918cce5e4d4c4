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


def _settings_classes() -> list[type[BaseSettings]]:
    """Every settings class of the services (importing a module builds nothing: no module
    reads the environment at import)."""
    import importlib
    import pkgutil

    import services

    for module in pkgutil.walk_packages(services.__path__, "services."):
        if not module.name.endswith(".__main__"):  # those run a service
            importlib.import_module(module.name)
    found: list[type[BaseSettings]] = []
    stack: list[type[BaseSettings]] = [BaseSettings]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("services."):
                found.append(sub)
    return found


def test_every_unsafe_default_is_documented_for_operators() -> None:
    from pathlib import Path

    from services.runtime.settings import DEVELOPMENT_DEFAULT, DEVELOPMENT_ONLY

    operations = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    declared = set()
    for cls in _settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            if extra.get(DEVELOPMENT_DEFAULT) or extra.get(DEVELOPMENT_ONLY):
                declared.add(f"{prefix}{name}".upper())
    # The ones known today must be found, so the walk itself cannot silently find nothing.
    assert {
        "LAPOR_DATABASE_URL",
        "LAPOR_TRIAGE_REPORTER_KEY",
        "LAPOR_INTAKE_DESK_CLOCK",
    } <= declared
    assert [name for name in sorted(declared) if f"`{name}`" not in operations] == []
