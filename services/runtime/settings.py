"""Settings that cannot be left unsafe.

A secret with a development default is declared with `development_secret(default)`; a setting
that only development and tests may use (a frozen clock, say) with `development_only()`.
Outside development (`LAPOR_ENV=production`) a service refuses to start while any secret still
has its default or any development-only setting is set, and the error names every environment
variable at fault. Each service checks its settings once, in its bootstrap, with
`check_deployment`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_DEFAULT = "x-development-default"
DEVELOPMENT_ONLY = "x-development-only"
DEVELOPMENT_ENVIRONMENTS = frozenset({"development", "test"})


class UnsafeConfiguration(RuntimeError):
    """A production deployment kept a development default."""


def development_secret(default: str) -> Any:
    """A secret setting whose default only serves development and tests."""
    return Field(default, json_schema_extra={DEVELOPMENT_DEFAULT: True})


def development_only() -> Any:
    """A setting that must stay unset (None) outside development and tests."""
    return Field(None, json_schema_extra={DEVELOPMENT_ONLY: True})


def deployment_environment() -> str:
    return os.environ.get("LAPOR_ENV", "development").strip().lower() or "development"


def unsafe_defaults(settings: BaseSettings) -> list[str]:
    """Environment variable names of the secrets still at their development default and of
    the development-only settings that are set."""
    prefix = settings.model_config.get("env_prefix", "")
    unsafe = []
    for name, field in type(settings).model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        at_default = getattr(settings, name) == field.default
        if (extra.get(DEVELOPMENT_DEFAULT) and at_default) or (
            extra.get(DEVELOPMENT_ONLY) and not at_default
        ):
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


class StaffAssertionSettings(BaseSettings):
    """The secret of the back office's staff assertions (`schemas.staff`), shared by the back
    office, which signs them, and the services whose APIs its pages call:
    LAPOR_STAFF_ASSERTION_SECRET."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_", extra="ignore")

    staff_assertion_secret: str = development_secret("lapor-dev-staff-assertion-secret")


class DocumentLinkSettings(BaseSettings):
    """The secret of the signed document links (`schemas.document_links`), shared by intake,
    which serves the documents, and the services that issue links for their staff:
    LAPOR_DOCUMENT_LINK_SECRET."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_", extra="ignore")

    document_link_secret: str = development_secret("lapor-dev-document-link-secret")
