"""Intake's HTTP adapter: the web channel's JSON API.

A complaint is acknowledged (202 + tracking code) only after its row and its
`ComplaintReceived` outbox entry are committed together, so nothing acknowledged is lost.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import Channel, Language
from services.intake import filing, repository, throttle
from services.intake.domain import ownership
from services.intake.domain.complaints import Submission
from services.intake.domain.fields import Nik, OptionalEmail, OptionalPhone
from services.intake.domain.tracking import InvalidTrackingCode, normalise_tracking_code
from services.intake.entrypoints.guards import install_guards, too_many
from services.intake.group_filing import GroupFiler
from services.intake.inbox import InboxWorker
from services.intake.settings import IntakeSettings
from services.intake.walk_in import walk_in_router
from services.intake.web import web_router
from services.intake.webhook import whatsapp_router
from services.runtime.http_problems import install_validation_handler


class ComplaintRequest(BaseModel):
    """A complaint submitted on the web channel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="Full name as on the KTP")
    nik: Nik = Field(description="16-digit NIK from the KTP")
    phone: OptionalPhone = Field(
        default=None, max_length=32, description="Indonesian mobile number"
    )
    email: OptionalEmail = Field(default=None, max_length=254)
    description: str = Field(
        min_length=20, max_length=20_000, description="Chronology: what happened, when, where"
    )
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{2}(\.[0-9]{2}){0,2}$")
    city: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=500)
    language: Language = Language.INDONESIAN
    anonymous: bool = False
    secret: bool = False
    in_court: bool = Field(default=False, description="The matter is or was before a court")
    filed_before: bool = Field(default=False, description="Already reported to this desk")

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


class OwnershipProof(BaseModel):
    """Proof that the caller filed the report: the phone or email on file, or a code sent to
    it (POST .../one-time-code)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    one_time_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")

    @model_validator(mode="after")
    def _some_proof(self) -> OwnershipProof:
        if not (self.phone or self.email or self.one_time_code):
            raise ValueError("give the phone number or email on file, or a one-time code")
        return self


class UpdateRequest(OwnershipProof):
    additional_text: str = Field(min_length=1, max_length=20_000)


class UpdateAccepted(BaseModel):
    tracking_code: str
    update_id: uuid.UUID


class CodeSent(BaseModel):
    sent_via: str
    valid_seconds: int


class AttachmentView(BaseModel):
    attachment_id: str
    media_type: str
    filename: str | None
    size_bytes: int | None
    added_at: datetime


class UpdateView(BaseModel):
    additional_text: str
    added_at: datetime


class ComplaintDetails(ComplaintStatus):
    name: str | None
    nik: str | None = Field(description="Masked: only the last four digits")
    phone: str | None
    email: str | None
    description: str | None
    city: str | None
    address: str | None
    anonymous: bool
    secret: bool
    attachments: list[AttachmentView]
    updates: list[UpdateView]


IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, pattern=r"^[\x21-\x7e]+$", description="Makes a retry safe"),
]
NOT_FOUND = "no complaint has this tracking code"
REUSED_KEY = "this Idempotency-Key was already used for a different complaint"


def _fingerprint(body: ComplaintRequest) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def create_app(
    pool: Callable[[], asyncpg.Pool],
    settings: IntakeSettings | None = None,
    worker: InboxWorker | None = None,
    clock: Callable[[], datetime] | None = None,
    filer: GroupFiler | None = None,
) -> FastAPI:
    settings = settings or IntakeSettings()
    # Without its loop running (in-process tests) the filer files each request on its own.
    filer = filer or GroupFiler(pool, settings)
    app = FastAPI(
        title="Lapor intake",
        version="1.0.0",
        description="Takes in citizen complaints and reports their status.",
        responses={
            413: {"model": Problem, "description": "Body too large"},
            429: {"model": Problem, "description": "Rate limited; see Retry-After"},
        },
    )
    install_validation_handler(app)  # a 422 that echoes a lone surrogate must not 500
    install_guards(app, settings)
    app.include_router(whatsapp_router(pool, settings, worker))
    app.include_router(web_router(pool, settings))
    app.include_router(walk_in_router(pool, settings, clock))

    @app.post(
        "/v1/complaints",
        status_code=202,
        response_model=ComplaintAccepted202,
        responses={409: {"model": Problem}, 422: {"description": "Invalid fields"}},
    )
    async def submit_complaint(
        body: ComplaintRequest,
        request: Request,
        idempotency_key: IdempotencyKey = None,
    ) -> Any:
        submission = Submission(channel=Channel.WEB, **body.model_dump())
        filed = await filer.file(
            submission,
            idempotency_key=idempotency_key,
            fingerprint=_fingerprint(body),
        )
        if isinstance(filed, float):
            return too_many(filed, "too many complaints from this phone number or NIK")
        if filed.tracking_code is None:
            return JSONResponse(status_code=409, content={"detail": REUSED_KEY})
        return _accepted(filed.tracking_code, request)

    @app.get(
        "/v1/complaints/{tracking_code}",
        response_model=ComplaintStatus,
        responses={400: {"model": Problem}, 404: {"model": Problem}},
    )
    async def complaint_status(tracking_code: str) -> Any:
        """The public status: no personal details, no content."""
        code = _code(tracking_code)
        async with pool().acquire() as conn:
            view = await repository.status_view(conn, code)
        if view is None:
            raise HTTPException(status_code=404, detail=NOT_FOUND)
        return view

    @app.post(
        "/v1/complaints/{tracking_code}/one-time-code",
        status_code=202,
        response_model=CodeSent,
        responses={400: {"model": Problem}, 404: {"model": Problem}, 429: {"model": Problem}},
    )
    async def request_one_time_code(tracking_code: str) -> Any:
        """Send a 6-digit code to the contact on file (through the notifier)."""
        async with pool().acquire() as conn:
            record = await _record(conn, tracking_code)
            wait = await throttle.admit_one_time_code(
                conn, settings, record.contact_phone or record.contact_email
            )
            if wait:
                return too_many(wait, "too many codes sent to this contact")
            try:
                channel = await filing.send_one_time_code(conn, record, settings)
            except filing.TooManyCodes as error:
                raise HTTPException(status_code=429, detail=str(error)) from None
            except filing.ProofFailed as error:
                raise HTTPException(status_code=409, detail=str(error)) from None
        return {"sent_via": channel, "valid_seconds": settings.one_time_code_seconds}

    @app.post(
        "/v1/complaints/{tracking_code}/details",
        response_model=ComplaintDetails,
        responses={400: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
    )
    async def complaint_details(tracking_code: str, proof: OwnershipProof) -> Any:
        """The full report, for its owner: prove it with the contact on file or a code."""
        async with pool().acquire() as conn:
            record = await _record(conn, tracking_code)
            await _prove(conn, record, proof)
            view = await repository.status_view(conn, record.tracking_code)
            attachments = await repository.attachments_of(conn, record.complaint_id)
            updates = await repository.updates_of(conn, record.complaint_id)
        assert view is not None
        return owner_view(record, view, attachments, updates)

    @app.post(
        "/v1/complaints/{tracking_code}/updates",
        status_code=202,
        response_model=UpdateAccepted,
        responses={
            400: {"model": Problem},
            403: {"model": Problem},
            404: {"model": Problem},
            409: {"model": Problem},
        },
    )
    async def add_update(
        tracking_code: str, body: UpdateRequest, idempotency_key: IdempotencyKey = None
    ) -> Any:
        """Add information to an open report within the 10-day window (ComplaintUpdated)."""
        async with pool().acquire() as conn:
            record = await _record(conn, tracking_code)
            await _prove(conn, record, body)
            try:
                update_id = await filing.add_update(
                    conn,
                    record,
                    settings,
                    text=body.additional_text,
                    idempotency_key=idempotency_key,
                    fingerprint=hashlib.sha256(body.additional_text.encode()).hexdigest(),
                )
            except filing.UpdateRefused as error:
                raise HTTPException(status_code=409, detail=str(error)) from None
        return {"tracking_code": record.tracking_code, "update_id": update_id}

    async def _record(conn: asyncpg.Connection, tracking_code: str) -> repository.ComplaintRecord:
        record = await repository.complaint_record(conn, _code(tracking_code))
        if record is None:
            raise HTTPException(status_code=404, detail=NOT_FOUND)
        return record

    async def _prove(
        conn: asyncpg.Connection, record: repository.ComplaintRecord, proof: OwnershipProof
    ) -> None:
        try:
            await filing.prove_ownership(
                conn,
                record,
                settings,
                phone=proof.phone,
                email=proof.email,
                one_time_code=proof.one_time_code,
            )
        except filing.ProofFailed as error:
            raise HTTPException(status_code=403, detail=str(error)) from None

    return app


def _code(tracking_code: str) -> str:
    try:
        return normalise_tracking_code(tracking_code)
    except InvalidTrackingCode as error:
        raise HTTPException(status_code=400, detail=str(error)) from None


def _accepted(tracking_code: str, request: Request) -> JSONResponse:
    return JSONResponse(
        status_code=202,
        content={
            "tracking_code": tracking_code,
            "status": "received",
            "status_url": str(request.url_for("complaint_status", tracking_code=tracking_code)),
        },
    )


def owner_view(
    record: repository.ComplaintRecord,
    view: dict[str, Any],
    attachments: list[dict[str, Any]],
    updates: list[dict[str, Any]],
) -> dict[str, Any]:
    details = record.details
    reporter = details.get("reporter", {})
    location = details.get("location", {})
    return {
        **view,
        "name": reporter.get("name"),
        "nik": ownership.mask_nik(reporter.get("nik")),
        "phone": reporter.get("phone"),
        "email": reporter.get("email"),
        "description": details.get("description"),
        "city": location.get("city"),
        "address": location.get("address"),
        "anonymous": details.get("anonymous", False),
        "secret": details.get("secret", False),
        "attachments": attachments,
        "updates": updates,
    }
