"""`/v1/open311/clients`: the Open311 client applications, for admin staff (the back office's
`/staff/admin/open311`, with its staff assertion `X-Lapor-Staff`, role admin): list them
(never a key), issue one (its key answered once, stored only as a digest), revoke one. The
same as `lapor open311 add-client / revoke-client / clients`."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from schemas.staff import Role, StaffMember
from services.intake.adapters import open311
from services.runtime.http_problems import UNREADABLE_BODY, problem
from services.runtime.staff import staff_with_role

ADMIN_ONLY = {
    401: problem("No valid staff assertion"),
    403: problem("A staff member without the admin role"),
}
ClientId = Annotated[str, Path(pattern=r"^app-[0-9a-f]{8}$", examples=["app-3f9c2a1b"])]


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120, examples=["Aplikasi Warga"])


class ClientView(BaseModel):
    client_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    filed: int = Field(description="Complaints it filed")


class IssuedKey(BaseModel):
    client_id: str
    name: str
    api_key: str = Field(description="Shown this once; stored only as its SHA-256 digest")


def open311_clients_router(
    pool: Callable[[], asyncpg.Pool], staff_secret: str | None = None
) -> APIRouter:
    router = APIRouter(tags=["open311 clients"])
    Admin = Annotated[StaffMember, Depends(staff_with_role(Role.ADMIN, secret=staff_secret))]

    @router.get("/v1/open311/clients", responses=ADMIN_ONLY)
    async def clients(_: Admin) -> list[ClientView]:
        async with pool().acquire() as conn:
            return [ClientView.model_validate(dict(row)) for row in await open311.clients(conn)]

    @router.post(
        "/v1/open311/clients", status_code=201, responses={**ADMIN_ONLY, **UNREADABLE_BODY}
    )
    async def add_client(body: ClientIn, _: Admin) -> IssuedKey:
        async with pool().acquire() as conn:
            client_id, key = await open311.add_client(conn, body.name)
        return IssuedKey(client_id=client_id, name=body.name, api_key=key)

    @router.post(
        "/v1/open311/clients/{client_id}/revoke",
        responses={**ADMIN_ONLY, 404: problem("No such live client")},
    )
    async def revoke_client(client_id: ClientId, _: Admin) -> dict[str, str]:
        async with pool().acquire() as conn:
            if not await open311.revoke_client(conn, client_id):
                raise HTTPException(404, "no such live client")
        return {"client_id": client_id, "status": "revoked"}

    return router
