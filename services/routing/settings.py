"""Routing's own settings, from LAPOR_ROUTING_* environment variables (a leaf module: any
layer may import it, it imports none of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import development_only, development_secret

SERVICE = "routing"
DEFAULT_PORT = 8002

# Our case field → SP4N-LAPOR!'s field; LAPOR_ROUTING_SP4N_FIELDS replaces it.
DEFAULT_SP4N_FIELDS: Mapping[str, str] = {
    "tracking_code": "external_id",
    "agency_code": "instansi_tujuan",
    "category": "kategori",
    "priority": "prioritas",
    "summary": "isi_laporan",
    "region_code": "kode_wilayah",
    "channel": "sumber",
    "created_at": "tanggal_laporan",
    "response_due_at": "batas_tindak_lanjut",
}


class RoutingSettings(BaseSettings):
    """Routing's own settings, from LAPOR_ROUTING_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_ROUTING_", extra="ignore")

    scheduler_interval: float = 30.0
    # A fixed clock for demonstrations and tests of deadlines; never set in production.
    frozen_now: AwareDatetime | None = development_only()

    # Escalation: where case links in escalation emails point (routing's public address; the
    # development default serves a laptop only), and the Setwapres address that level-2
    # overdue cases are emailed to (none: level 2 emails nobody). Level 1 goes to the
    # agency's supervisor, from the directory.
    public_base_url: str = development_secret("http://127.0.0.1:8002")
    setwapres_escalation_email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    # Intake's public address, which the case file's signed document links point to (the
    # development default is intake's port under `lapor up`); the links' secret is the shared
    # LAPOR_DOCUMENT_LINK_SECRET (services.runtime.settings.DocumentLinkSettings).
    intake_public_url: str = development_secret("http://127.0.0.1:8000")

    # SP4N-LAPOR! forwarding; off without a URL. The wire format is configuration.
    sp4n_url: str | None = None
    sp4n_token: str | None = None
    sp4n_timeout: float = 10.0
    sp4n_interval: float = 2.0
    sp4n_backoff_base: float = 5.0
    sp4n_backoff_ceiling: float = 900.0
    sp4n_encoding: Literal["json", "form"] = "json"
    sp4n_fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SP4N_FIELDS))
    sp4n_static: dict[str, str] = Field(default_factory=dict)
    sp4n_remote_id_path: str = "data.tracking_id"
