"""Who a staff member is, as the back office vouches for them to the other services: the
contract between the back office (which signs staff in and serves their pages) and the
services whose JSON APIs those pages call (triage's review queue, routing's desk and admin,
intake's walk-in desk). Pure, no I/O.

The back office sends each API call on a signed-in staff member's behalf with the header
`X-Lapor-Staff: <assertion>`: their id, roles and agency, an expiry a minute ahead, and an
HMAC-SHA256 of those under the shared secret `LAPOR_STAFF_ASSERTION_SECRET`. A service that
verifies it (constant-time, expiry) treats the call as that staff member's, with the same
server-side checks as for its own tokens: an agency officer still sees only their agency.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

HEADER = "X-Lapor-Staff"
DEFAULT_LIFETIME_SECONDS = 60


class Role(StrEnum):
    REVIEWER = "reviewer"  # triage's review queue
    DISPOSITION = "disposition"  # Setwapres: manual disposition, overdue across agencies, SP4N
    ADMIN = "admin"  # accounts, routing rules, agencies, calendar, dead letters
    AGENCY_OFFICER = "agency_officer"  # one agency's cases
    AGENCY_SUPERVISOR = "agency_supervisor"  # one agency's overdue cases, reassignment
    DESK_OFFICER = "desk_officer"  # the walk-in desk


AGENCY_ROLES = frozenset({Role.AGENCY_OFFICER, Role.AGENCY_SUPERVISOR})


class InvalidAssertion(Exception):
    """Not signed by the back office, altered, expired or malformed."""


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    roles: frozenset[Role]
    agency_code: str | None = None  # set for agency roles, which are bound to one agency

    def has(self, *roles: Role) -> bool:
        """True when the member holds any of `roles`."""
        return any(role in self.roles for role in roles)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(body: str, secret: str) -> str:
    message = f"lapor-staff-assertion:v1\n{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(
    member: StaffMember,
    secret: str,
    *,
    now: datetime | None = None,
    lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
) -> str:
    """The assertion for `member`, valid for `lifetime_seconds` from `now`."""
    if not secret:
        raise ValueError("no staff assertion secret")
    issued = int((now or datetime.now(UTC)).timestamp())
    claims = {
        "sub": member.staff_id,
        "roles": sorted(role.value for role in member.roles),
        "agency": member.agency_code,
        "exp": issued + lifetime_seconds,
    }
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(body, secret)}"


def verify(assertion: str, secret: str, *, now: datetime | None = None) -> StaffMember:
    """The staff member `assertion` vouches for; InvalidAssertion otherwise."""
    body, _, signature = assertion.strip().partition(".")
    if not secret or not body or not signature:
        raise InvalidAssertion("malformed staff assertion")
    if not hmac.compare_digest(_mac(body, secret).encode(), signature.lower().encode()):
        raise InvalidAssertion("bad staff assertion signature")
    try:
        claims = json.loads(_unb64(body))
        member = StaffMember(
            staff_id=str(claims["sub"]),
            roles=frozenset(Role(role) for role in claims["roles"]),
            agency_code=claims.get("agency"),
        )
        expires = int(claims["exp"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidAssertion(f"malformed staff assertion: {error}") from None
    if expires <= int((now or datetime.now(UTC)).timestamp()):
        raise InvalidAssertion("expired staff assertion")
    return member
