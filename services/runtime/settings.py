"""Settings that cannot be left unsafe.

A secret with a development default is declared with `development_secret(default)`. Outside
development (`LAPOR_ENV=production`) a service refuses to start while any such secret still
has its default, and the error names every environment variable to set. Each service checks
its settings once, in its bootstrap, with `check_deployment`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings

DEVELOPMENT_DEFAULT = "x-development-default"
DEVELOPMENT_ENVIRONMENTS = frozenset({"development", "test"})


class UnsafeConfiguration(RuntimeError):
    """A production deployment kept a development default."""


def development_secret(default: str) -> Any:
    """A secret setting whose default only serves development and tests."""
    return Field(default, json_schema_extra={DEVELOPMENT_DEFAULT: True})


def deployment_environment() -> str:
    return os.environ.get("LAPOR_ENV", "development").strip().lower() or "development"


def unsafe_defaults(settings: BaseSettings) -> list[str]:
    """Environment variable names of the secrets still at their development default."""
    prefix = settings.model_config.get("env_prefix", "")
    unsafe = []
    for name, field in type(settings).model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get(DEVELOPMENT_DEFAULT):
            if getattr(settings, name) == field.default:
                unsafe.append(f"{prefix}{name}".upper())
    return unsafe


def check_deployment(*settings: BaseSettings, extra_unsafe: Iterable[str] = ()) -> None:
    """Refuse to start outside development while a development default is in force."""
    if deployment_environment() in DEVELOPMENT_ENVIRONMENTS:
        return
    unsafe = [name for each in settings for name in unsafe_defaults(each)]
    unsafe += list(extra_unsafe)
    if unsafe:
        raise UnsafeConfiguration(
            f"LAPOR_ENV={deployment_environment()} refuses development defaults;"
            f" set {', '.join(sorted(set(unsafe)))}"
        )
