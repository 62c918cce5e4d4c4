"""`/open311/v2/`: an Open311 GeoReport v2-shaped read view of the agency's cases (the
officer's token as bearer or `?api_key=`); only the service list is public."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel

from schemas.events.base import Category
from services.personal_data.keystore import Keystore
from services.routing.adapters import citizen_words, views
from services.routing.entrypoints.access import UNAUTHENTICATED, Open311Client, PoolGetter
from services.routing.entrypoints.fields import REQUEST_ID_PATTERN, QueryTime
from services.runtime.http_problems import problem


class Open311Service(BaseModel):
    service_code: str
    service_name: str
    metadata: bool
    type: str
    keywords: str
    group: str
    description: str


class Open311Request(BaseModel):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


def _service(category: Category) -> Open311Service:
    return Open311Service(
        service_code=category.value,
        service_name=category.value.replace("_", " "),
        metadata=False,
        type="realtime",
        keywords="",
        group="lapor",
        description=f"Complaints about {category.value.replace('_', ' ')}",
    )


def _request(row: asyncpg.Record, status_notes: str | None, summary: str | None) -> Open311Request:
    return Open311Request(
        service_request_id=row["tracking_code"],
        status="closed" if row["status"] == "closed" else "open",
        status_notes=status_notes,
        service_name=row["category"].replace("_", " "),
        service_code=row["category"],
        # The citizen's words, opened; never a secret report's (nor an erased reporter's).
        description=None if row["secret"] else summary,
        agency_responsible=row["agency_name"],
        service_notice=None,
        requested_datetime=row["created_at"],
        updated_datetime=row["updated_at"],
        expected_datetime=row["response_due_at"] or row["due_at"],
        address=None,
        address_id=row["region_code"],
        zipcode=None,
        lat=None,
        long=None,
        media_url=None,
    )


def open311_router(pool: PoolGetter, keys: Keystore) -> APIRouter:
    router = APIRouter(tags=["open311"])

    async def with_notes(rows: list[asyncpg.Record]) -> list[Open311Request]:
        notes = await views.latest_notes(pool(), [row["case_id"] for row in rows])
        summaries = await citizen_words.readable(
            keys, pool(), [None if row["secret"] else row["summary"] for row in rows]
        )
        return [
            _request(row, notes.get(row["case_id"]), summary)
            for row, summary in zip(rows, summaries, strict=True)
        ]

    @router.get("/open311/v2/services.json")
    async def services() -> list[Open311Service]:
        """Public: the list of categories, as any Open311 client expects."""
        return [_service(category) for category in Category]

    @router.get("/open311/v2/requests.json", responses=UNAUTHENTICATED)
    async def requests(
        who: Open311Client,
        service_code: Category | None = None,
        status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
        start_date: Annotated[QueryTime, Query()] = None,
        end_date: Annotated[QueryTime, Query()] = None,
    ) -> list[Open311Request]:
        wanted = views.RequestFilter(
            category=service_code.value if service_code else None,
            status=status,
            start=start_date,
            end=end_date,
        )
        return await with_notes(await views.open311_requests(pool(), who.agency_code, wanted))

    @router.get(
        "/open311/v2/requests/{service_request_id}.json",
        responses={**UNAUTHENTICATED, 404: problem("No such request in your agency")},
    )
    async def request(
        service_request_id: Annotated[str, Path(pattern=REQUEST_ID_PATTERN)],
        who: Open311Client,
    ) -> list[Open311Request]:
        rows = await views.open311_request(pool(), service_request_id, who.agency_code)
        if not rows:
            raise HTTPException(404, "no such request in your agency")
        return await with_notes(rows)

    return router
