"""Intake's HTTP adapter: the web channel's JSON API.

A complaint is acknowledged (202 + tracking code) only after its row and its
`ComplaintReceived` outbox entry are committed together, so nothing acknowledged is lost.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.events import Channel, Language
from schemas.identity import InvalidIdentity, check_nik, normalise_phone
from services.intake import repository
from services.intake.domain import Submission, complaint_received
from services.intake.inbox import InboxWorker
from services.intake.settings import IntakeSettings
from services.intake.tracking import InvalidTrackingCode, new_tracking_code, normalise_tracking_code
from services.intake.webhook import whatsapp_router

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ComplaintRequest(BaseModel):
    """A complaint submitted on the web channel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="Full name as on the KTP")
    nik: str = Field(description="16-digit NIK from the KTP")
    phone: str | None = Field(default=None, max_length=32, description="Indonesian mobile number")
    email: str | None = Field(default=None, max_length=254)
    description: str = Field(
        min_length=20, max_length=20_000, description="Chronology: what happened, when, where"
    )
    region_code: str | None = Field(default=None, pattern=r"^\d{2}(\.\d{2}){0,2}$")
    city: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=500)
    language: Language = Language.INDONESIAN
    anonymous: bool = False
    secret: bool = False
    in_court: bool = Field(default=False, description="The matter is or was before a court")
    filed_before: bool = Field(default=False, description="Already reported to this desk")

    @field_validator("nik")
    @classmethod
    def _nik(cls, value: str) -> str:
        try:
            return check_nik(value)
        except InvalidIdentity as error:
            raise ValueError(str(error)) from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return normalise_phone(value)
        except InvalidIdentity as error:
            raise ValueError(str(error)) from None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _EMAIL.match(value):
            raise ValueError("email address is not valid")
        return value.lower()

    @model_validator(mode="after")
    def _contact(self) -> ComplaintRequest:
        if self.phone is None and self.email is None:
            raise ValueError("give a phone number or an email address so we can reach you")
        return self


class ComplaintAccepted202(BaseModel):
    tracking_code: str
    status: str
    status_url: str


class TimelineEntry(BaseModel):
    event_type: str
    status: str
    detail: str | None
    occurred_at: datetime


class ComplaintStatus(BaseModel):
    tracking_code: str
    channel: str
    status: str
    status_detail: str | None
    agency_name: str | None
    received_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry]


class Problem(BaseModel):
    detail: str


def _fingerprint(body: ComplaintRequest) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def create_app(
    pool: Callable[[], asyncpg.Pool],
    settings: IntakeSettings | None = None,
    worker: InboxWorker | None = None,
) -> FastAPI:
    settings = settings or IntakeSettings()
    app = FastAPI(
        title="Lapor intake",
        version="1.0.0",
        description="Takes in citizen complaints and reports their status.",
    )
    app.include_router(whatsapp_router(pool, settings, worker))

    @app.post(
        "/v1/complaints",
        status_code=202,
        response_model=ComplaintAccepted202,
        responses={409: {"model": Problem}, 422: {"description": "Invalid fields"}},
    )
    async def submit_complaint(
        body: ComplaintRequest,
        request: Request,
        idempotency_key: Annotated[
            str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")
        ] = None,
    ) -> Any:
        fingerprint = _fingerprint(body)
        submission = Submission(channel=Channel.WEB, **body.model_dump())
        async with pool().acquire() as conn:
            if idempotency_key:
                existing = await repository.find_by_idempotency_key(conn, idempotency_key)
                if existing is not None:
                    return _replayed(existing, fingerprint, request)
            complaint_id = uuid.uuid4()
            tracking_code = new_tracking_code()
            now = datetime.now(UTC)
            event = complaint_received(submission, complaint_id, tracking_code, now)
            async with conn.transaction():
                inserted = await repository.record_complaint(
                    conn, event, idempotency_key=idempotency_key, request_fingerprint=fingerprint
                )
            if not inserted:  # a concurrent double-submit with the same key won the race
                existing = await repository.find_by_idempotency_key(conn, idempotency_key or "")
                assert existing is not None
                return _replayed(existing, fingerprint, request)
        return _accepted(tracking_code, request)

    @app.get(
        "/v1/complaints/{tracking_code}",
        response_model=ComplaintStatus,
        responses={400: {"model": Problem}, 404: {"model": Problem}},
    )
    async def complaint_status(tracking_code: str) -> Any:
        try:
            code = normalise_tracking_code(tracking_code)
        except InvalidTrackingCode as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        async with pool().acquire() as conn:
            view = await repository.status_view(conn, code)
        if view is None:
            raise HTTPException(status_code=404, detail="no complaint has this tracking code")
        return view

    return app


def _accepted(tracking_code: str, request: Request) -> JSONResponse:
    return JSONResponse(
        status_code=202,
        content={
            "tracking_code": tracking_code,
            "status": "received",
            "status_url": str(request.url_for("complaint_status", tracking_code=tracking_code)),
        },
    )


def _replayed(
    existing: repository.StoredComplaint, fingerprint: str, request: Request
) -> JSONResponse:
    if existing.request_fingerprint != fingerprint:
        return JSONResponse(
            status_code=409,
            content={"detail": "this Idempotency-Key was already used for a different complaint"},
        )
    return _accepted(existing.tracking_code, request)
