"""Intake's own settings, read from LAPOR_INTAKE_* environment variables."""

from __future__ import annotations

from datetime import time

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import development_only, development_secret


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPOR_INTAKE_", extra="ignore")

    # WhatsApp Cloud API: the app secret signs webhook POSTs; the verify token answers the
    # GET handshake. Empty means the webhook refuses everything (401 / 403).
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    webhook_max_bytes: int = 1024 * 1024
    # The Graph API the media of incoming messages are downloaded from (adapters.
    # whatsapp_media); without it, WhatsApp documents are refused with a reply.
    whatsapp_api_url: str | None = None  # e.g. https://graph.facebook.com
    whatsapp_api_version: str = "v21.0"
    whatsapp_token: str = ""
    # The inbox is divided into this many shards by sender (one sender's messages in one,
    # handled in order by one worker at a time); each instance runs this many workers going
    # round them. Every instance must use the same number of shards.
    whatsapp_inbox_shards: int = Field(default=16, ge=1, le=1024)
    whatsapp_inbox_workers: int = Field(default=4, ge=1, le=64)

    # Proof of ownership: one-time codes (6 digits) last this long; HMAC key for their digests.
    one_time_code_seconds: int = 600
    one_time_code_key: str = development_secret("change-me")
    update_window_days: int = 10

    # Documents (web uploads, WhatsApp media, additions): each at most this large.
    max_attachment_bytes: int = 5 * 1024 * 1024
    max_attachments: int = 5

    # Request bodies other than uploads and the webhook (JSON, plain forms): 413 above this.
    max_request_bytes: int = 256 * 1024

    # Per client IP: a token bucket in this process's memory, so behind a load balancer each
    # instance limits on its own. The webhook, /healthz, /readyz and /metrics are exempt.
    rate_limit_per_ip_per_minute: float = 60.0
    rate_limit_per_ip_burst: int = 30
    rate_limit_tracked_clients: int = 100_000
    # Per reporter, counted in PostgreSQL (holds across instances); 0 switches a limit off.
    complaints_per_reporter_per_hour: int = 5  # per phone and per NIK, every channel
    one_time_codes_per_contact_per_hour: int = 5  # per destination phone or email
    whatsapp_messages_per_sender_per_hour: int = 60  # beyond it: stored, not answered
    # Keys the hashes the per-reporter counters store instead of the phone or NIK.
    reporter_hash_key: str = development_secret("change-me")

    # Browsers: origins allowed to call the API cross-site ("https://a.id,https://b.id");
    # empty allows none. The HMAC key of the forms' CSRF tokens; empty: a random key per
    # process (set one when several instances serve the same site).
    cors_allowed_origins: str = ""
    form_key: str = ""

    # Walk-in desk (its officers sign in to the back office): opening hours per weekday
    # (Mon=0) as "HH:MM-HH:MM"; closed days are absent.
    desk_timezone: str = "Asia/Jakarta"
    desk_hours: str = "0=08:00-14:00,1=08:00-14:00,2=08:00-14:00,3=08:00-14:00,4=08:00-14:30"
    desk_daily_quota: int = 50
    desk_booking_days_ahead: int = 30
    # The desk's "now" fixed at an ISO instant with offset ("2027-02-02T10:00:00+07:00"), for
    # tests and demos only (production refuses to start with it); empty: the real clock.
    desk_clock: str | None = development_only()

    def opening_hours(self) -> dict[int, tuple[time, time]]:
        hours: dict[int, tuple[time, time]] = {}
        for item in filter(None, (part.strip() for part in self.desk_hours.split(","))):
            day, _, span = item.partition("=")
            opens, _, closes = span.partition("-")
            hours[int(day)] = (time.fromisoformat(opens), time.fromisoformat(closes))
        return hours

    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allowed_origins.split(",") if origin.strip()]

    def upload_request_max_bytes(self) -> int:
        # Room for one file too many or too large, so the form can say which, not just 413.
        return (self.max_attachments + 1) * self.max_attachment_bytes + self.max_request_bytes
