"""Notifier's HTTP adapter: opt-out and opt-in, and the citizen's inbound text.

Intake does not forward a citizen's free text on a topic, so the opt-out ("BERHENTI") arrives
here: intake's WhatsApp conversation, or an operator, posts the text or the opt-out itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Literal

import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.identity import InvalidIdentity, check_email, normalise_phone
from services.notifier import repository
from services.notifier.domain import opt_out_intent


def _address(value: str) -> str:
    try:
        return check_email(value) if "@" in value else normalise_phone(value.strip())
    except InvalidIdentity as error:
        raise ValueError(str(error)) from None


Address = Annotated[
    str,
    Field(max_length=254, description="Phone number (any Indonesian form, or a wa_id) or email"),
    AfterValidator(_address),
]


class OptOutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Address


class InboundText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Address
    text: str = Field(max_length=4096)


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


def create_app(pool: Callable[[], asyncpg.Pool]) -> FastAPI:
    app = FastAPI(title="Lapor notifier", version="1")

    @app.post("/v1/opt-outs", response_model=OptOutState, status_code=201)
    async def opt_out(body: OptOutRequest) -> OptOutState:
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, body.address, True)
        return OptOutState(opted_out=True)

    @app.post("/v1/opt-ins", response_model=OptOutState)
    async def opt_in(body: OptOutRequest) -> OptOutState:
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, body.address, False)
        return OptOutState(opted_out=False)

    @app.post("/v1/inbound-texts", response_model=InboundOutcome)
    async def inbound_text(body: InboundText) -> InboundOutcome:
        """A citizen's text: "BERHENTI" (or STOP) opts out, "MULAI" (or START) opts back in."""
        intent = opt_out_intent(body.text)
        if intent is None:
            return InboundOutcome(action="none")
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, body.address, intent)
        return InboundOutcome(action="opted_out" if intent else "opted_in")

    @app.get("/v1/complaints/{complaint_id}/notifications", response_model=list[NotificationView])
    async def notifications(complaint_id: str) -> list[NotificationView]:
        """What was sent for a complaint, for operators (no addresses, no text)."""
        try:
            key = uuid.UUID(complaint_id)
        except ValueError:
            raise HTTPException(400, "complaint_id must be a UUID") from None
        rows = await pool().fetch(
            "SELECT notification_id, channel, template, language, status, delivery_status,"
            " attempts, trigger_type FROM notifications WHERE complaint_id = $1"
            " ORDER BY created_at, channel",
            key,
        )
        return [
            NotificationView(**{**dict(row), "trigger_event_type": row["trigger_type"]})
            for row in rows
        ]

    return app
