"""Documents for staff of other services: `GET /v1/documents/{complaint_id}/{attachment_id}`
with a signed link (`schemas.document_links`: expires, audience, sig under
LAPOR_DOCUMENT_LINK_SECRET). Routing issues such links for the officers of the agency that
holds the case; intake only checks them.

403 for a bad or expired signature, 404 for an unknown document, 410 once the reporter's key
was erased. The bytes go out as an attachment with the type sniffed from the content,
`nosniff` and `no-store`. The owner's own route is in `owner_api`.

Each request is counted by the audience's issuer (`routing` for `routing:<agency>:<officer>`;
`unverified` for a bad link, whose audience is not trusted) and outcome
(`lapor_intake_document_openings_total`), and an opening is logged with its verified audience,
complaint and attachment ids: no personal data, no filename, no content.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response
from prometheus_client import Counter

from schemas import document_links
from services.intake.entrypoints.api_models import Problem
from services.intake.handlers.documents import DocumentErased, open_document
from services.personal_data.keystore import Keystore

DOCUMENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document",
        "content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}},
    },
    404: {"model": Problem},
    410: {"model": Problem, "description": "Erased with the reporter's personal data"},
}
BAD_LINK = "the link is not valid or has expired"

log = logging.getLogger(__name__)
OPENINGS = Counter(
    "lapor_intake_document_openings_total",
    "Documents requested through signed links, by the audience's issuer and outcome",
    ["audience", "outcome"],
)


def audience_issuer(audience: str) -> str:
    """The bounded part of an audience for a metric label: `routing` of
    `routing:<agency>:<officer>` (officer ids would make a label per person)."""
    return audience.split(":", 1)[0][:40] or "unknown"


def documents_router(
    pool: Callable[[], asyncpg.Pool], keys: Keystore, link_secret: str
) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/documents/{complaint_id}/{attachment_id}",
        response_class=Response,
        responses={**DOCUMENT_RESPONSES, 403: {"model": Problem}},
    )
    async def signed_document(
        complaint_id: uuid.UUID,
        attachment_id: Annotated[str, Path(max_length=300)],
        expires: Annotated[int, Query(ge=0, le=2**40)],
        audience: Annotated[str, Query(min_length=1, max_length=300)],
        sig: Annotated[str, Query(min_length=1, max_length=128)],
    ) -> Response:
        """A document through a signed link (staff of other services)."""
        if not document_links.verify(
            complaint_id, attachment_id, expires, audience, sig, link_secret
        ):
            OPENINGS.labels("unverified", "refused").inc()
            raise HTTPException(status_code=403, detail=BAD_LINK)
        issuer = audience_issuer(audience)
        try:
            response = await document_response(pool, keys, complaint_id, attachment_id)
        except HTTPException as error:
            OPENINGS.labels(
                issuer, {404: "not_found", 410: "erased"}.get(error.status_code, "failed")
            ).inc()
            raise
        OPENINGS.labels(issuer, "opened").inc()
        log.info(
            "document opened through a signed link",
            extra={
                "audience": audience,
                "complaint_id": str(complaint_id),
                "attachment_id": attachment_id,
            },
        )
        return response

    return router


async def document_response(
    pool: Callable[[], asyncpg.Pool], keys: Keystore, complaint_id: uuid.UUID, attachment_id: str
) -> Response:
    async with pool().acquire() as conn:
        try:
            document = await open_document(conn, keys, complaint_id, attachment_id)
        except DocumentErased:
            raise HTTPException(
                status_code=410, detail="this document was erased with the reporter's data"
            ) from None
    if document is None:
        raise HTTPException(status_code=404, detail="no such document")
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        document.media_type, "bin"
    )
    # The stored filename is the citizen's: never echoed into a header.
    name = f"{attachment_id.rsplit(':', 1)[-1][:40]}.{extension}"
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{_safe(name)}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def _safe(name: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)
