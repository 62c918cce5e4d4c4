"""Intake's own settings, read from LAPOR_INTAKE_* environment variables."""

from __future__ import annotations

from datetime import time

from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPOR_INTAKE_", extra="ignore")

    # WhatsApp Cloud API: the app secret signs webhook POSTs; the verify token answers the
    # GET handshake. Empty means the webhook refuses everything (401 / 403).
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    webhook_max_bytes: int = 1024 * 1024

    # Proof of ownership: one-time codes (6 digits) last this long; HMAC key for their digests.
    one_time_code_seconds: int = 600
    one_time_code_key: str = "change-me"
    update_window_days: int = 10

    # Web uploads.
    max_attachment_bytes: int = 5 * 1024 * 1024
    max_attachments: int = 5

    # Walk-in desk: officers as "officer_id:token,officer_id:token"; opening hours per
    # weekday (Mon=0) as "HH:MM-HH:MM"; closed days are absent.
    desk_officers: str = ""
    desk_timezone: str = "Asia/Jakarta"
    desk_hours: str = "0=08:00-14:00,1=08:00-14:00,2=08:00-14:00,3=08:00-14:00,4=08:00-14:30"
    desk_daily_quota: int = 50
    desk_booking_days_ahead: int = 30

    def opening_hours(self) -> dict[int, tuple[time, time]]:
        hours: dict[int, tuple[time, time]] = {}
        for item in filter(None, (part.strip() for part in self.desk_hours.split(","))):
            day, _, span = item.partition("=")
            opens, _, closes = span.partition("-")
            hours[int(day)] = (time.fromisoformat(opens), time.fromisoformat(closes))
        return hours

    def officers(self) -> dict[str, str]:
        pairs = (item.split(":", 1) for item in self.desk_officers.split(",") if ":" in item)
        return {officer.strip(): token.strip() for officer, token in pairs}
