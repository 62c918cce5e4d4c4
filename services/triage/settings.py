"""Triage's own settings, from LAPOR_TRIAGE_* environment variables (the common ones are
`services.runtime.lifecycle.Settings`). A leaf: any layer may import it; it imports none."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import development_secret

SERVICE = "triage"
DEFAULT_PORT = 8001
# The review queue's PostgreSQL schema.
DB_SCHEMA = "triage"


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPOR_TRIAGE_", extra="ignore")

    # The key of the reporter hash. Rotating it forgets every reporter's history (by design).
    reporter_key: str = development_secret("lapor-dev-reporter-key")
    # Reviewers and their bearer tokens, "name:token,name:token" (only hashes are kept).
    reviewers: str = ""
