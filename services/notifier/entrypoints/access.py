"""Who may call the notifier's HTTP API: bearer tokens, by role.

Nothing is public; every route needs a token, and with none configured every request is
refused (fail closed):
- operators (`LAPOR_NOTIFIER_OPERATORS="name:token,..."`): everything;
- inbound senders (`LAPOR_NOTIFIER_INBOUND_TOKENS="gateway:token,..."`): the SMS gateway and
  intake's conversation, which may only post inbound texts (403 elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.notifier.settings import ApiSettings
from services.runtime.http_problems import UNREADABLE_BODY, problem

Role = Literal["operator", "inbound"]


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role


def _parse(configured: str, role: Role) -> dict[str, Caller]:
    """`name:token,...` → {sha256(token): caller}; entries without both parts are ignored."""
    found = {}
    for entry in configured.split(","):
        name, _, token = entry.strip().partition(":")
        if name.strip() and token.strip():
            found[_digest(token.strip())] = Caller(name.strip(), role)
    return found


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ApiAccess:
    """Who may call the API, by token digest (the tokens themselves are not kept)."""

    callers: dict[str, Caller] = field(default_factory=dict)

    @classmethod
    def from_config(cls, operators: str = "", inbound_tokens: str = "") -> ApiAccess:
        # An operator's entry wins over an inbound one with the same token.
        return cls({**_parse(inbound_tokens, "inbound"), **_parse(operators, "operator")})

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> ApiAccess:
        return cls.from_config(settings.operators, settings.inbound_tokens)

    def caller(self, token: str | None) -> Caller | None:
        if not token:
            return None
        digest = _digest(token)
        # Compare against every digest in constant time: no early exit to time.
        found = None
        for known, caller in self.callers.items():
            if hmac.compare_digest(known, digest):
                found = caller
        return found


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="notifierToken",
    description="An operator's token, or the SMS gateway's / intake's inbound token",
)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    access: ApiAccess = request.app.state.access
    found = access.caller(credentials.credentials if credentials else None)
    if found is None:
        raise HTTPException(401, "a valid token is required", {"WWW-Authenticate": "Bearer"})
    return found


async def operator(who: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if who.role != "operator":
        raise HTTPException(403, "only operators may do this")
    return who


Operator = Annotated[Caller, Depends(operator)]
InboundSender = Annotated[Caller, Depends(current_caller)]  # both roles may post texts

UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    **UNREADABLE_BODY,
    401: problem("No valid token"),
}
OPERATORS_ONLY: dict[int | str, dict[str, Any]] = {
    **UNAUTHENTICATED,
    403: problem("An inbound-only token"),
}
