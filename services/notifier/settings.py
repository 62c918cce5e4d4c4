"""Notifier's settings, all read from LAPOR_NOTIFIER_* variables. A leaf: it imports none of
the service's layers, so any layer may import it."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import development_secret


class ChannelSettings(BaseSettings):
    """Provider settings, read from LAPOR_NOTIFIER_* variables. A channel without its endpoint
    configured is off: its messages are marked undeliverable and fall back."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_NOTIFIER_", extra="ignore")

    whatsapp_api_url: str | None = None  # e.g. https://graph.facebook.com
    whatsapp_api_version: str = "v21.0"
    whatsapp_phone_number_id: str = ""
    whatsapp_token: str = ""

    sms_gateway_url: str | None = None  # POST target of the gateway
    sms_gateway_token: str = ""
    sms_sender_id: str = "LAPOR"
    # The gateway's JSON shape: field names of the request and of the id in the response.
    sms_field_to: str = "to"
    sms_field_text: str = "text"
    sms_field_sender: str = "from"
    sms_field_reference: str = "reference"
    sms_response_id_field: str = "message_id"

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    smtp_from: str = "Lapor Mas Wapres <noreply@lapor.go.id>"

    send_timeout_seconds: float = 10.0


class NotifierSettings(ChannelSettings):
    """LAPOR_NOTIFIER_* settings of the sender (and, inherited, of the channels)."""

    max_attempts: int = 8
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0
    lease_seconds: float = 30.0
    rate_limit_count: int = 5
    rate_limit_window_seconds: float = 600.0
    whatsapp_window_hours: float = 24.0
    sender_concurrency: int = 64
    sender_poll_seconds: float = 1.0
    # Intake's public address (the citizen's pages): the closing message links to the
    # report's rating page, /lapor/puas (SMS and email answers go there: intake reads no SMS).
    citizen_base_url: str = development_secret("http://127.0.0.1:8000")


class ApiSettings(BaseSettings):
    """LAPOR_NOTIFIER_OPERATORS and LAPOR_NOTIFIER_INBOUND_TOKENS, as "name:token,..."."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_NOTIFIER_", extra="ignore")

    operators: str = ""
    inbound_tokens: str = ""
