"""CSRF protection for the HTML forms, pure: a signed double-submit token.

The browser holds a random nonce in a cookie (HttpOnly, SameSite=Lax); every form carries
`HMAC(key, nonce)` in a hidden field. A POST passes only when the field is the MAC of the
cookie it came with. Another site can neither read the field nor, without the key, forge a
pair, even if it manages to plant a cookie (a sibling subdomain can).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

COOKIE = "lapor_csrf"
FIELD = "csrf_token"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def is_nonce(value: str | None) -> bool:
    return bool(value) and _NONCE.match(value or "") is not None


def token_for(key: bytes, nonce: str) -> str:
    mac = hmac.new(key, b"lapor-form:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_matches(key: bytes, nonce: str | None, token: str | None) -> bool:
    if not is_nonce(nonce) or not token:
        return False
    return hmac.compare_digest(token_for(key, nonce or "").encode(), token.encode())
