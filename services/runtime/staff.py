"""The back office's staff assertions (`schemas.staff`) on the services' FastAPI apps: the
`X-Lapor-Staff` header as an OpenAPI security scheme, and its check. A service accepts a
valid assertion as an alternative to its own token; what each role may do stays the
service's decision (its access module maps roles to what its tokens could do).

- No header: None (the caller falls back to the service's own token).
- A header that is not a valid assertion (forged, altered, expired, malformed): 401.
- A valid one: the `StaffMember`; the role checks are the caller's (403 or 404).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import APIKeyHeader

from schemas.staff import HEADER, InvalidAssertion, Role, StaffMember, verify
from services.runtime.settings import StaffAssertionSettings

log = logging.getLogger(__name__)

staff_header = APIKeyHeader(
    name=HEADER,
    auto_error=False,
    scheme_name="staffAssertion",
    description="The back office's assertion of a signed-in staff member (schemas.staff):"
    " roles, agency, a minute's validity, HMAC under LAPOR_STAFF_ASSERTION_SECRET",
)


def assertion_secret() -> str:
    """LAPOR_STAFF_ASSERTION_SECRET, as the environment gives it."""
    return StaffAssertionSettings().staff_assertion_secret


def vouched(assertion: str | None, secret: str, challenge: str = "Bearer") -> StaffMember | None:
    """The staff member the header vouches for; None without the header; 401 (with
    `WWW-Authenticate: challenge`) for an assertion that does not verify."""
    if assertion is None:
        return None
    try:
        return verify(assertion, secret)
    except InvalidAssertion as error:
        # the reason names the failure (signature, expiry), never the assertion
        log.info("staff assertion refused", extra={"reason": str(error)})
        raise HTTPException(
            401, "a valid staff assertion is required", {"WWW-Authenticate": challenge}
        ) from None


def staff_with_role(*roles: Role, secret: str | None = None) -> Callable[..., StaffMember]:
    """A dependency: the staff member holding any of `roles`; 401 without a valid
    assertion, 403 with a valid one lacking the role. `secret`: default the environment's."""
    key = secret if secret is not None else assertion_secret()

    def dependency(
        assertion: Annotated[str | None, Depends(staff_header)],
    ) -> StaffMember:
        member = vouched(assertion, key, challenge=HEADER)
        if member is None:
            raise HTTPException(
                401, "a valid staff assertion is required", {"WWW-Authenticate": HEADER}
            )
        if not member.has(*roles):
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}")
        return member

    return dependency
