"""`/open311/v2/`: Open311 GeoReport v2 (docs/open311.md), every call in JSON and XML.

Reading is public: the services and their definitions, the public requests
(`domain.open311` decides what is public) and a filing's token. Filing needs a client
application's `api_key` (`lapor open311 add-client NAME`) and goes through the one filing
path (`handlers.filing`, via the group filer) with channel open311. Errors answer in the
spec's format, `[{"code": 400, "description": "..."}]` (XML `<errors><error>`), with the same
HTTP status; the per-address rate limit is the app's (`guards.ClientRateLimit`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.events import Category, Language
from services.intake.adapters import open311
from services.intake.domain import open311 as spec
from services.intake.domain.limits import retry_after_seconds
from services.intake.domain.tracking import InvalidTrackingCode, normalise_tracking_code
from services.intake.entrypoints.api_models import IdempotencyKey
from services.intake.entrypoints.group_filing import GroupFiler
from services.intake.entrypoints.open311_input import InvalidInput, filing, request_filter
from services.intake.handlers.filing import FileComplaint

PREFIX = "/open311/v2"
Format = Annotated[Literal["json", "xml"], Path(description="json or xml")]
AcceptLanguage = Annotated[str | None, Header(description="id (default) or en", max_length=200)]
QueryText = Annotated[str | None, Query(max_length=20_000)]
XML = "application/xml; charset=utf-8"
_BOTH = {"application/json": {}, "application/xml": {}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": what, "content": _BOTH}
    for code, what in (
        (400, "Bad parameters, one message per parameter"),
        (404, "No such service or public request"),
        (429, "Rate limited; see Retry-After"),
    )
}
_FILING_EXAMPLE = {
    "api_key": "o311_...",
    "service_code": "land",
    "address_string": "Kota Bandung",
    "description": "Sertifikat tanah saya tidak terbit sejak 2019 padahal biaya sudah lunas.",
    "first_name": "Siti",
    "last_name": "Aminah",
    "phone": "0812-3456-7890",
    "attribute[nik]": "3171015501900001",
}
_FILING_FIELDS = (
    *_FILING_EXAMPLE,
    "lat",
    "long",
    "email",
    "media_url",
    "attribute[phone]",
    "attribute[anonymous]",
    "attribute[secret]",
)
_FILING_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code", "description", "attribute[nik]"],
                    "properties": {name: {"type": "string"} for name in _FILING_FIELDS},
                },
                "example": _FILING_EXAMPLE,
            }
        },
    }
}


def answer(
    format: str, items: Sequence[Mapping[str, Any]], root: str, item: str, status: int = 200
) -> Response:
    """A list in the chosen format (the spec's responses are lists, in XML `root` > `item`)."""
    if format == "xml":
        return Response(spec.to_xml(root, item, items), status, media_type=XML)
    return JSONResponse(list(items), status)


def errors(
    format: str, status: int, messages: Sequence[str], headers: dict[str, str] | None = None
) -> Response:
    response = answer(format, [spec.error(status, m) for m in messages], "errors", "error", status)
    response.headers.update(headers or {})
    return response


def open311_router(pool: Callable[[], asyncpg.Pool], filer: GroupFiler) -> APIRouter:
    router = APIRouter(tags=["open311"])
    _add_services(router)
    _add_requests(router, pool)
    _add_filing(router, pool, filer)
    return router


def _add_services(router: APIRouter) -> None:
    @router.get(f"{PREFIX}/discovery.{{format}}", responses={200: {"content": _BOTH}, **_ERRORS})
    async def discovery(format: Format, request: Request) -> Response:
        """The spec's discovery document: where this endpoint is and what it speaks."""
        found = spec.discovery(str(request.base_url).rstrip("/") + PREFIX)
        if format == "xml":
            return Response(spec.discovery_xml(found), media_type=XML)
        return JSONResponse(found)

    @router.get(f"{PREFIX}/services.{{format}}", responses={200: {"content": _BOTH}, **_ERRORS})
    async def services(format: Format, accept_language: AcceptLanguage = None) -> Response:
        """Every category, named in Bahasa Indonesia (`Accept-Language: en`: English)."""
        language = spec.language_of(accept_language)
        listed = [spec.service(category, language) for category in Category]
        return answer(format, listed, "services", "service")

    @router.get(
        f"{PREFIX}/services/{{service_code}}.{{format}}",
        responses={200: {"content": _BOTH}, **_ERRORS},
    )
    async def service_definition(
        service_code: Annotated[str, Path(max_length=60)],
        format: Format,
        accept_language: AcceptLanguage = None,
    ) -> Response:
        """The attributes a filing takes (`attribute[nik]`, ...)."""
        try:
            category = Category(service_code)
        except ValueError:
            return errors(format, 404, [f"service_code: unknown service {service_code!r}"])
        definition = spec.service_definition(category, spec.language_of(accept_language))
        if format == "xml":
            return Response(spec.definition_xml(definition), media_type=XML)
        return JSONResponse(definition)


def _add_requests(router: APIRouter, pool: Callable[[], asyncpg.Pool]) -> None:
    @router.get(f"{PREFIX}/requests.{{format}}", responses={200: {"content": _BOTH}, **_ERRORS})
    async def requests(
        format: Format,
        service_request_id: QueryText = None,
        service_code: QueryText = None,
        start_date: QueryText = None,
        end_date: QueryText = None,
        status: QueryText = None,
        jurisdiction_id: QueryText = None,
        accept_language: AcceptLanguage = None,
    ) -> Response:
        """The public requests: no key; the last 90 days by default, at most 1,000."""
        params = {
            "service_request_id": service_request_id,
            "service_code": service_code,
            "start_date": start_date,
            "end_date": end_date,
            "status": status,
        }
        try:
            wanted = request_filter(params, datetime.now(UTC))
        except InvalidInput as error:
            return errors(format, 400, error.messages)
        async with pool().acquire() as conn:
            rows = await open311.public_requests(conn, wanted)
        language = spec.language_of(accept_language)
        listed = [spec.public_request(row, language) for row in rows]
        return answer(format, listed, "service_requests", "request")

    @router.get(
        f"{PREFIX}/requests/{{service_request_id}}.{{format}}",
        responses={200: {"content": _BOTH}, **_ERRORS},
    )
    async def request(
        service_request_id: Annotated[str, Path(max_length=60)],
        format: Format,
        jurisdiction_id: QueryText = None,
        accept_language: AcceptLanguage = None,
    ) -> Response:
        """One public request; a secret, anonymous, held or rejected one answers 404."""
        missing = [f"service_request_id: no public request {service_request_id!r}"]
        try:
            code = normalise_tracking_code(service_request_id)
        except InvalidTrackingCode:
            return errors(format, 404, missing)
        async with pool().acquire() as conn:
            rows = await open311.public_requests(conn, open311.RequestFilter(codes=[code]))
        if not rows:
            return errors(format, 404, missing)
        language = spec.language_of(accept_language)
        return answer(
            format, [spec.public_request(rows[0], language)], "service_requests", "request"
        )

    @router.get(
        f"{PREFIX}/tokens/{{token}}.{{format}}", responses={200: {"content": _BOTH}, **_ERRORS}
    )
    async def token(token: Annotated[str, Path(max_length=60)], format: Format) -> Response:
        """The service_request_id a filing's token stands for."""
        try:
            complaint_id = uuid.UUID(token)
        except ValueError:
            return errors(format, 404, [f"token: no such token {token!r}"])
        async with pool().acquire() as conn:
            code = await open311.tracking_code_of(conn, complaint_id)
        if code is None:
            return errors(format, 404, [f"token: no such token {token!r}"])
        return answer(
            format, [{"service_request_id": code, "token": token}], "service_requests", "request"
        )


def _add_filing(router: APIRouter, pool: Callable[[], asyncpg.Pool], filer: GroupFiler) -> None:
    @router.post(
        f"{PREFIX}/requests.{{format}}",
        responses={
            200: {"content": _BOTH},
            403: {"description": "No, an unknown or a revoked api_key", "content": _BOTH},
            409: {"description": "Idempotency-Key reused for another request", "content": _BOTH},
            **_ERRORS,
        },
        openapi_extra=_FILING_FORM,
    )
    async def file_request(
        format: Format,
        request: Request,
        idempotency_key: IdempotencyKey = None,
        accept_language: AcceptLanguage = None,
    ) -> Response:
        """File a complaint (channel open311) with a client application's `api_key`."""
        form = await _form(request)
        if form is None:
            return errors(format, 400, ["request: send the parameters form-encoded"])
        client = await _client(pool, form.get("api_key") or request.query_params.get("api_key"))
        if isinstance(client, str):
            return errors(format, 403, [client])
        try:
            parsed = filing(form)
        except InvalidInput as error:
            return errors(format, 400, error.messages)
        key = f"open311:{client.client_id}:{idempotency_key or parsed.fingerprint}"
        filed = await filer.file(
            FileComplaint(
                parsed.submission,
                idempotency_key=key,
                fingerprint=parsed.fingerprint,
                client_app=client.client_id,
                service_code=parsed.service_code,
            )
        )
        if isinstance(filed, float):
            seconds = retry_after_seconds(filed)
            message = f"NIK/phone: too many complaints from this reporter; try again in {seconds} s"
            return errors(format, 429, [message], {"Retry-After": str(seconds)})
        if filed.tracking_code is None:
            return errors(format, 409, ["Idempotency-Key: already used for another request"])
        english = spec.language_of(accept_language) is Language.ENGLISH
        notice = (
            f"Received. Follow it with tracking code {filed.tracking_code}."
            if english
            else f"Laporan diterima. Pantau dengan nomor pelacakan {filed.tracking_code}."
        )
        return answer(
            format,
            [
                {
                    "service_request_id": filed.tracking_code,
                    "token": str(filed.complaint_id),
                    "service_notice": notice,
                    "account_id": None,
                }
            ],
            "service_requests",
            "request",
        )


async def _form(request: Request) -> dict[str, str] | None:
    """The form's fields (the last of a repeated one); None if the body is not a form."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    try:
        form = await request.form(max_files=0, max_fields=100)
    except StarletteHTTPException as error:  # an unparsable form: the client's 400
        if error.status_code == 413:  # too large: `guards.BodySizeLimit` answers
            raise
        return None
    except ValueError:  # not UTF-8
        return None
    return {name: value for name, value in form.items() if isinstance(value, str)}


async def _client(pool: Callable[[], asyncpg.Pool], api_key: str | None) -> open311.Client | str:
    """The live client the key belongs to, or why it is refused."""
    if not api_key:
        return "api_key: required to file; ask the desk for a client key"
    async with pool().acquire() as conn:
        client = await open311.client_by_key(conn, api_key[:200])
    if client is None:
        return "api_key: unknown key"
    if client.revoked:
        return "api_key: this key was revoked"
    return client


def install_error_format(app: FastAPI) -> None:
    """Validation errors on Open311's paths in the spec's format (400); elsewhere as before."""
    default = app.exception_handlers[RequestValidationError]

    async def handler(request: Request, error: Exception) -> Response:
        if not request.url.path.startswith(f"{PREFIX}/") or not isinstance(
            error, RequestValidationError
        ):
            return await default(request, error)  # type: ignore[no-any-return]
        format = "xml" if request.url.path.endswith(".xml") else "json"
        messages = [
            f"{detail['loc'][-1]}: {str(detail['msg']).removeprefix('Value error, ')}"
            for detail in error.errors()
        ]
        return errors(format, 400, [m.encode("utf-8", "replace").decode() for m in messages])

    app.add_exception_handler(RequestValidationError, handler)
