"""Notifier's HTTP adapter: opt-out and opt-in, the citizen's inbound text, and what was sent.

Intake does not forward a citizen's free text on a topic, so the opt-out ("BERHENTI") arrives
here: intake's WhatsApp conversation or the SMS gateway posts the text, or an operator posts
the opt-out itself.

Nothing here is public; every route needs a bearer token, and with none configured every
request is refused (fail closed):
- operators (`LAPOR_NOTIFIER_OPERATORS="name:token,..."`): everything, including the
  notification history, which says how and when a citizen was contacted;
- inbound senders (`LAPOR_NOTIFIER_INBOUND_TOKENS="gateway:token,..."`): the SMS gateway and
  intake's conversation, which may only post inbound texts (403 elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.identity import InvalidIdentity, check_email, normalise_phone
from services.notifier import repository
from services.notifier.domain import opt_out_intent
from services.runtime.http_problems import UNREADABLE_BODY, install_validation_handler, problem

Role = Literal["operator", "inbound"]


class ApiSettings(BaseSettings):
    """LAPOR_NOTIFIER_OPERATORS and LAPOR_NOTIFIER_INBOUND_TOKENS, as "name:token,..."."""

    model_config = SettingsConfigDict(env_prefix="LAPOR_NOTIFIER_", extra="ignore")

    operators: str = ""
    inbound_tokens: str = ""


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


def _address(value: str) -> str:
    try:
        return check_email(value) if "@" in value else normalise_phone(value.strip())
    except InvalidIdentity as error:
        raise ValueError(str(error)) from None


Address = Annotated[
    str,
    Field(
        max_length=254,
        description="Phone number (any Indonesian form, or a wa_id) or email",
        examples=["081234567890", "+6281234567890", "siti.aminah@example.id"],
    ),
    AfterValidator(_address),
]


class OptOutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Address


class InboundText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Address
    text: str = Field(max_length=4096, examples=["BERHENTI", "MULAI", "terima kasih"])


class OptOutState(BaseModel):
    opted_out: bool


class InboundOutcome(BaseModel):
    action: Literal["opted_out", "opted_in", "none"]


class NotificationView(BaseModel):
    notification_id: uuid.UUID
    channel: str
    template: str
    language: str
    status: str
    delivery_status: str | None
    attempts: int
    trigger_event_type: str


UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    **UNREADABLE_BODY,
    401: problem("No valid token"),
}
OPERATORS_ONLY: dict[int | str, dict[str, Any]] = {
    **UNAUTHENTICATED,
    403: problem("An inbound-only token"),
}


def create_app(pool: Callable[[], asyncpg.Pool], access: ApiAccess | None = None) -> FastAPI:
    """`access` defaults to nobody: without configured tokens every route answers 401."""
    app = FastAPI(title="Lapor notifier", version="1", description=__doc__)
    app.state.access = access or ApiAccess()
    install_validation_handler(app)

    @app.post("/v1/opt-outs", response_model=OptOutState, status_code=201, responses=OPERATORS_ONLY)
    async def opt_out(body: OptOutRequest, _: Operator) -> OptOutState:
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, body.address, True)
        return OptOutState(opted_out=True)

    @app.post("/v1/opt-ins", response_model=OptOutState, responses=OPERATORS_ONLY)
    async def opt_in(body: OptOutRequest, _: Operator) -> OptOutState:
        # Opting someone back in is the riskier direction: an operator's decision, or the
        # citizen's own "MULAI" through /v1/inbound-texts.
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, body.address, False)
        return OptOutState(opted_out=False)

    @app.post("/v1/inbound-texts", response_model=InboundOutcome, responses=UNAUTHENTICATED)
    async def inbound_text(body: InboundText, _: InboundSender) -> InboundOutcome:
        """A citizen's text: "BERHENTI" (or STOP) opts out, "MULAI" (or START) opts back in."""
        intent = opt_out_intent(body.text)
        if intent is None:
            return InboundOutcome(action="none")
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, body.address, intent)
        return InboundOutcome(action="opted_out" if intent else "opted_in")

    @app.get(
        "/v1/complaints/{complaint_id}/notifications",
        response_model=list[NotificationView],
        responses=OPERATORS_ONLY,
    )
    async def notifications(complaint_id: uuid.UUID, _: Operator) -> list[NotificationView]:
        """What was sent for a complaint, for operators (no addresses, no text)."""
        rows = await pool().fetch(
            "SELECT notification_id, channel, template, language, status, delivery_status,"
            " attempts, trigger_type FROM notifications WHERE complaint_id = $1"
            " ORDER BY created_at, channel",
            complaint_id,
        )
        return [
            NotificationView(**{**dict(row), "trigger_event_type": row["trigger_type"]})
            for row in rows
        ]

    return app
