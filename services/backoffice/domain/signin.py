"""The sign-in rules, pure: attempt limits, session tokens and their inactivity expiry, and
time-based one-time codes (RFC 6238, pyotp)."""

from __future__ import annotations

import binascii
import hashlib
import math
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import pyotp

TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
# Codes from one step before or after now also pass: the phone's clock drifts, people type.
TOTP_VALID_WINDOW = 1


def retry_after(
    failures: Sequence[datetime], now: datetime, limit: int, window: timedelta
) -> timedelta | None:
    """How long until another attempt is allowed, when `limit` failures already lie within
    `window` before `now`; None when an attempt is allowed now. Applied per account and per
    address: guessing one account's password, or many accounts' from one place, both stop."""
    recent = sorted(at for at in failures if now - window < at <= now)
    if limit <= 0 or len(recent) < limit:
        return None
    # The attempt that frees a slot: the oldest of the last `limit` failures leaves the window.
    return recent[-limit] + window - now


def minutes(wait: timedelta) -> int:
    """A wait in whole minutes for the message (at least 1)."""
    return max(1, math.ceil(wait.total_seconds() / 60))


def new_session_token() -> str:
    """The random token the browser holds (256 bits); only its hash is stored."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(f"lapor-staff-session:{token}".encode()).hexdigest()


def session_expired(last_seen: datetime, now: datetime, idle: timedelta) -> bool:
    """A session ends after `idle` without a request; each request slides it on."""
    return now - last_seen >= idle


def new_totp_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, staff_id: str, issuer: str) -> str:
    """What an authenticator app scans or takes typed in."""
    return pyotp.TOTP(secret).provisioning_uri(name=staff_id, issuer_name=issuer)


def totp_matches(secret: str, code: str, now: datetime) -> bool:
    """True when `code` is the 6-digit code of `secret` at `now`, give or take one step."""
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return False
    try:
        return pyotp.TOTP(secret).verify(code, for_time=now, valid_window=TOTP_VALID_WINDOW)
    except (ValueError, binascii.Error):  # not a usable base32 secret (a tampered form)
        return False
