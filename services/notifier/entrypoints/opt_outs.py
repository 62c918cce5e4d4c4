"""Operators opt a citizen's address out of status messages, or back in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import asyncpg
from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.identity import InvalidIdentity, check_email, normalise_phone
from services.notifier.adapters import repository
from services.notifier.domain.rules import AddressDigests
from services.notifier.entrypoints.access import OPERATORS_ONLY, Operator


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


class OptOutState(BaseModel):
    opted_out: bool


def opt_outs_router(pool: Callable[[], asyncpg.Pool], digests: AddressDigests) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/opt-outs", response_model=OptOutState, status_code=201, responses=OPERATORS_ONLY
    )
    async def opt_out(body: OptOutRequest, _: Operator) -> OptOutState:
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, digests, body.address, True)
        return OptOutState(opted_out=True)

    @router.post("/v1/opt-ins", response_model=OptOutState, responses=OPERATORS_ONLY)
    async def opt_in(body: OptOutRequest, _: Operator) -> OptOutState:
        # Opting someone back in is the riskier direction: an operator's decision, or the
        # citizen's own "MULAI" through /v1/inbound-texts.
        async with pool().acquire() as conn:
            await repository.set_opt_out(conn, digests, body.address, False)
        return OptOutState(opted_out=False)

    return router
