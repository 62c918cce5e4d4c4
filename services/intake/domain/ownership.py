"""Proof that a citizen owns a report, pure: the contact on file, or a one-time code.

Only a keyed digest of a one-time code is stored; comparisons run in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from schemas.identity import InvalidIdentity, normalise_phone

MAX_FAILED_TRIES = 5
CODE_DIGITS = 6
#: Statuses after which a report takes no more additions.
FINAL_STATUSES = frozenset({"rejected", "duplicate", "closed"})


def new_one_time_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(key: str, complaint_id: str, code: str) -> str:
    return hmac.new(key.encode(), f"{complaint_id}:{code}".encode(), hashlib.sha256).hexdigest()


def phone_matches(on_file: str | None, claimed: str) -> bool:
    if not on_file:
        return False
    try:
        normalised = normalise_phone(claimed)
    except InvalidIdentity:
        return False
    return hmac.compare_digest(normalised.encode(), on_file.encode())


def email_matches(on_file: str | None, claimed: str) -> bool:
    if not on_file:
        return False
    return hmac.compare_digest(claimed.strip().lower().encode(), on_file.lower().encode())


def update_window_open(
    received_at: datetime, now: datetime, days: int, documents_due_at: datetime | None = None
) -> bool:
    """Additions may follow within `days` days of the report (the real desk's rule) and,
    once the agency has asked for documents, until the end of the window routing set for
    them (`documents_due_at`, inclusive: routing closes the case only after it), whichever
    is later. The agency's window counts from its request, not from filing."""
    if now < received_at + timedelta(days=days):
        return True
    return documents_due_at is not None and now <= documents_due_at


def update_window_closes(
    received_at: datetime, days: int, documents_due_at: datetime | None = None
) -> datetime:
    """The last moment `update_window_open` holds (to tell the citizen the date)."""
    filing = received_at + timedelta(days=days)
    return max(filing, documents_due_at) if documents_due_at is not None else filing


def mask_nik(nik: str | None) -> str | None:
    """Even the owner sees only the last four digits: the full NIK never leaves intake."""
    return None if nik is None else "*" * 12 + nik[-4:]
