"""Signed links to a complaint's document: the contract between intake, which keeps the
documents, and the services whose staff may open one (routing's case file). Pure, no I/O.

A link names the complaint, the attachment, when it expires and whom it was issued for (the
audience, e.g. `routing:<agency_id>:<officer_id>`), and carries an HMAC-SHA256 of those
under the shared secret `LAPOR_DOCUMENT_LINK_SECRET`:

    GET /v1/documents/{complaint_id}/{attachment_id}?expires=<unix s>&audience=...&sig=<hex>

Intake checks the signature (constant-time) and the expiry before it opens the document.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

PATH_PREFIX = "/v1/documents"
DEFAULT_LIFETIME_SECONDS = 15 * 60


def _message(
    complaint_id: uuid.UUID | str, attachment_id: str, expires: int, audience: str
) -> bytes:
    # Newlines cannot occur in a UUID or a unix time; the two free-text parts are
    # length-prefixed so no two different links sign the same bytes.
    return (
        f"lapor-document-link:v1\n{uuid.UUID(str(complaint_id))}\n{expires}\n"
        f"{len(attachment_id)}:{attachment_id}\n{len(audience)}:{audience}"
    ).encode()


def _expires(expires_at: datetime | int) -> int:
    return expires_at if isinstance(expires_at, int) else int(expires_at.timestamp())


def sign(
    complaint_id: uuid.UUID | str,
    attachment_id: str,
    expires_at: datetime | int,
    audience: str,
    secret: str,
) -> str:
    """The link's signature, hex."""
    if not secret:
        raise ValueError("no document link secret")
    message = _message(complaint_id, attachment_id, _expires(expires_at), audience)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    complaint_id: uuid.UUID | str,
    attachment_id: str,
    expires_at: datetime | int,
    audience: str,
    signature: str,
    secret: str,
    *,
    now: datetime | None = None,
) -> bool:
    """True when the signature is this link's under `secret` and the link has not expired."""
    if not secret or not signature:
        return False
    try:
        expected = sign(complaint_id, attachment_id, expires_at, audience, secret)
    except ValueError:  # not a complaint id
        return False
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        return False
    now = now or datetime.now(UTC)
    return _expires(expires_at) > int(now.timestamp())


def link(
    complaint_id: uuid.UUID | str,
    attachment_id: str,
    expires_at: datetime | int,
    audience: str,
    secret: str,
) -> str:
    """The path and query of a signed link (prefix it with intake's public address)."""
    expires = _expires(expires_at)
    query = urlencode(
        {
            "expires": expires,
            "audience": audience,
            "sig": sign(complaint_id, attachment_id, expires, audience, secret),
        }
    )
    return f"{PATH_PREFIX}/{complaint_id}/{quote(attachment_id, safe='')}?{query}"
