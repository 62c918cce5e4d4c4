"""Triage's own settings, from LAPOR_TRIAGE_* environment variables (the common ones are
`services.runtime.lifecycle.Settings`). A leaf: any layer may import it; it imports none."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import development_secret

SERVICE = "triage"
DEFAULT_PORT = 8001
# The review queue's PostgreSQL schema.
DB_SCHEMA = "triage"
# Kafka keeps the intake topic this long (the broker's log.retention.hours, ops/infra.py): a
# redelivered complaint is at most this old, so its decision must be kept longer.
INTAKE_RETENTION_DAYS = 7


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPOR_TRIAGE_", extra="ignore")

    # The key of the reporter hash. Rotating it forgets every reporter's history (by design).
    reporter_key: str = development_secret("lapor-dev-reporter-key")
    # Reviewers and their bearer tokens, "name:token,name:token" (only hashes are kept).
    reviewers: str = ""
    # Decisions are kept this many days (then pruned): a complaint redelivered within them
    # re-emits its decision (same event id) instead of being decided again. More than the
    # intake topic's retention, so no redelivery outlives its decision.
    decision_retention_days: int = Field(default=14, gt=INTAKE_RETENTION_DAYS)
    # How often the state is pruned (expired reporter days and repeats, candidates outside the
    # window or beyond the latest 64 per bucket, decisions past their retention).
    prune_interval_seconds: float = Field(default=600.0, gt=0)
