"""The JSON API for a report's owner, who proves it is theirs with the contact on file or a
one-time code sent there: the full report, its documents, and additions to it within the
10-day window."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response

from services.intake.adapters import repository, views
from services.intake.domain import ownership
from services.intake.domain.citizen_status import citizen_view, language_of
from services.intake.entrypoints.api_models import (
    NOT_FOUND,
    CodeSent,
    ComplaintDetails,
    IdempotencyKey,
    OwnershipProof,
    Problem,
    UpdateAccepted,
    UpdateRequest,
)
from services.intake.entrypoints.documents_api import DOCUMENT_RESPONSES, document_response
from services.intake.entrypoints.guards import too_many
from services.intake.entrypoints.status_api import tracking_code_or_400
from services.intake.handlers import follow_ups
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import Keystore


def owner_api_router(
    pool: Callable[[], asyncpg.Pool], settings: IntakeSettings, keys: Keystore
) -> APIRouter:
    router = APIRouter()

    _one_time_code_route(router, pool, settings, keys)

    @router.post(
        "/v1/complaints/{tracking_code}/details",
        response_model=ComplaintDetails,
        responses={400: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
    )
    async def complaint_details(tracking_code: str, proof: OwnershipProof) -> Any:
        """The full report, for its owner: prove it with the contact on file or a code."""
        async with pool().acquire() as conn:
            record = await owned_record(conn, tracking_code, keys)
            await prove_owner(conn, record, proof, settings)
            view = await views.status_view(conn, record.tracking_code)
            # Filenames and additions are sealed like the chronology; opened for the owner.
            attachments = await keys.open_json(
                conn, await views.attachments_of(conn, record.complaint_id)
            )
            updates = await keys.open_json(conn, await views.updates_of(conn, record.complaint_id))
        assert view is not None
        return owner_view(record, view, attachments, updates)

    _owner_document_route(router, pool, settings, keys)

    @router.post(
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
            record = await owned_record(conn, tracking_code, keys)
            await prove_owner(conn, record, body, settings)
            try:
                update_id = await follow_ups.add_update(
                    conn,
                    record,
                    settings,
                    keys=keys,
                    text=body.additional_text,
                    idempotency_key=idempotency_key,
                    fingerprint=hashlib.sha256(body.additional_text.encode()).hexdigest(),
                )
            except follow_ups.UpdateRefused as error:
                raise HTTPException(status_code=409, detail=str(error)) from None
        return {"tracking_code": record.tracking_code, "update_id": update_id}

    return router


def _one_time_code_route(
    router: APIRouter,
    pool: Callable[[], asyncpg.Pool],
    settings: IntakeSettings,
    keys: Keystore,
) -> None:
    @router.post(
        "/v1/complaints/{tracking_code}/one-time-code",
        status_code=202,
        response_model=CodeSent,
        responses={400: {"model": Problem}, 404: {"model": Problem}, 429: {"model": Problem}},
    )
    async def request_one_time_code(tracking_code: str) -> Any:
        """Send a 6-digit code to the contact on file (through the notifier)."""
        async with pool().acquire() as conn:
            record = await owned_record(conn, tracking_code, keys)
            wait = await follow_ups.admit_one_time_code(
                conn, settings, record.contact_phone or record.contact_email
            )
            if wait:
                return too_many(wait, "too many codes sent to this contact")
            try:
                channel = await follow_ups.send_one_time_code(conn, record, settings, keys)
            except follow_ups.TooManyCodes as error:
                raise HTTPException(status_code=429, detail=str(error)) from None
            except follow_ups.ProofFailed as error:
                raise HTTPException(status_code=409, detail=str(error)) from None
        return {"sent_via": channel, "valid_seconds": settings.one_time_code_seconds}


def _owner_document_route(
    router: APIRouter,
    pool: Callable[[], asyncpg.Pool],
    settings: IntakeSettings,
    keys: Keystore,
) -> None:
    @router.post(
        "/v1/complaints/{tracking_code}/documents/{attachment_id}",
        response_class=Response,
        responses={
            **DOCUMENT_RESPONSES,
            400: {"model": Problem},
            403: {"model": Problem},
        },
    )
    async def owner_document(
        tracking_code: str,
        attachment_id: Annotated[str, Path(max_length=300)],
        proof: OwnershipProof,
    ) -> Response:
        """One of the report's documents, for its owner (the same proof as the details)."""
        async with pool().acquire() as conn:
            record = await owned_record(conn, tracking_code, keys)
            await prove_owner(conn, record, proof, settings)
        return await document_response(pool, keys, record.complaint_id, attachment_id)


async def owned_record(
    conn: asyncpg.Connection, tracking_code: str, keys: Keystore
) -> repository.ComplaintRecord:
    record = await repository.complaint_record(conn, tracking_code_or_400(tracking_code), keys)
    if record is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return record


async def prove_owner(
    conn: asyncpg.Connection,
    record: repository.ComplaintRecord,
    proof: OwnershipProof,
    settings: IntakeSettings,
) -> None:
    try:
        await follow_ups.prove_ownership(
            conn,
            record,
            settings,
            phone=proof.phone,
            email=proof.email,
            one_time_code=proof.one_time_code,
        )
    except follow_ups.ProofFailed as error:
        raise HTTPException(status_code=403, detail=str(error)) from None


def owner_view(
    record: repository.ComplaintRecord,
    view: dict[str, Any],
    attachments: list[dict[str, Any]],
    updates: list[dict[str, Any]],
) -> dict[str, Any]:
    details = record.details
    reporter = details.get("reporter", {})
    location = details.get("location", {})
    # The owner reads their own report in their language, agency notes included (even secret).
    shown = citizen_view(view, language_of(reporter.get("language")), public=False)
    return {
        **shown,
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
