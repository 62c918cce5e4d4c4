"""The back office's own settings, read from LAPOR_BACKOFFICE_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BackofficeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPOR_BACKOFFICE_", extra="ignore")

    # The services whose JSON APIs the pages call (defaults: `lapor up`'s ports).
    triage_url: str = "http://127.0.0.1:8001"
    routing_url: str = "http://127.0.0.1:8002"
    intake_url: str = "http://127.0.0.1:8000"
    notifier_url: str = "http://127.0.0.1:8003"  # its dead letters only
    service_timeout_seconds: float = 10.0

    # A session ends after this long without a request (each request slides it on).
    session_idle_minutes: int = 30
    # Secure cookies: None follows the request's scheme (HTTPS: Secure); True forces them
    # (behind a proxy that terminates TLS and forwards plain HTTP).
    cookie_secure: bool | None = None
    # Sign-in attempts: at most this many failures per account and per address in the window.
    signin_max_failures: int = 5
    signin_window_minutes: int = 15
    # The HMAC key of the forms' CSRF tokens; empty: a random key per process (set one when
    # several instances serve the back office).
    form_key: str = ""
    # The issuer shown in authenticator apps next to the account.
    totp_issuer: str = "Lapor Back Office"
