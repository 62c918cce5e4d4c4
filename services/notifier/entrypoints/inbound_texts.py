"""A citizen's inbound SMS text, posted by the SMS gateway: "BERHENTI" opts out. (WhatsApp
messages reach intake's webhook instead; intake tells the notifier with a
`CitizenOptOutRequested` event, handled in `handlers.events.record_opt_out`.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from schemas.opt_out import opt_out_intent
from services.notifier.adapters import repository
from services.notifier.domain.rules import AddressDigests
from services.notifier.entrypoints.access import UNAUTHENTICATED, InboundSender
from services.notifier.entrypoints.opt_outs import Address


class InboundText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Address
    text: str = Field(max_length=4096, examples=["BERHENTI", "MULAI", "terima kasih"])


class InboundOutcome(BaseModel):
    action: Literal["opted_out", "opted_in", "none"]


def inbound_texts_router(pool: Callable[[], asyncpg.Pool], digests: AddressDigests) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/inbound-texts", response_model=InboundOutcome, responses=UNAUTHENTICATED)
    async def inbound_text(body: InboundText, _: InboundSender) -> InboundOutcome:
        """A citizen's text: "BERHENTI" (or STOP) opts out, "MULAI" (or START) opts back in."""
        intent = opt_out_intent(body.text)
        if intent is None:
            return InboundOutcome(action="none")
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, digests, body.address, intent)
        return InboundOutcome(action="opted_out" if intent else "opted_in")

    return router
