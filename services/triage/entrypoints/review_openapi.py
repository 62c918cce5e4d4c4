"""The OpenAPI 3.1 document of triage's JSON routes on faust's web server (`GET
/openapi.json`): the review queue (`review_routes`) and the dead letters (`dead_letters`).
faust's web server has no schema generation, so the document is written here by hand, its
bodies and answers as pydantic models (the dead letters' are the shared ones of
`services.runtime.dead_letters`); `tests/e2e/test_triage_openapi_fuzz.py` fuzzes the
running service against it (no 5xx, every answer as documented)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from schemas.events.base import Category
from schemas.staff import HEADER
from services.runtime.dead_letters import DeadLetterDetail, DeadLetterList, ReplayIn, ReplayResult
from services.triage.domain.review import ACTIONS, LOG_ACTIONS, STATUSES

REF = "#/components/schemas/{model}"


class Problem(BaseModel):
    detail: str = Field(description="Why the request was refused, in a sentence")


class Reason(BaseModel):
    code: str
    detail: str
    score: float = 0.0


class Resembling(BaseModel):
    complaint_id: str
    tracking_code: str
    similarity: float = Field(ge=0.0, le=1.0)
    signature: str = Field(description="Its content words, opened for the reviewer")


class ReviewItem(BaseModel):
    """A queue item; no NIK, phone or name. `description`: the chronology, opened in memory
    ("(data erased)" once the reporter was erased)."""

    complaint_id: str
    tracking_code: str
    status: Literal["open", "claimed", "decided"]
    category: str = Field(description="Triage's guess")
    priority: str
    region_code: str | None
    region_source: str | None = Field(description="incident or reporter_nik")
    reasons: list[Reason]
    description: str
    matched_terms: list[str]
    warnings: list[str]
    similar: list[Resembling]
    created_at: datetime | None
    claimed_by: str | None
    claimed_at: datetime | None
    claim_expires_at: datetime | None
    decision: Literal["accepted", "rejected", "duplicate"] | None
    decided_by: str | None
    decided_at: datetime | None


class ReviewList(BaseModel):
    items: list[ReviewItem] = Field(description="The oldest first, at most 100")
    reviewer: str = Field(description="Who asked (the staff id, or the token's reviewer)")


class LogEntry(BaseModel):
    id: int
    complaint_id: str
    tracking_code: str
    reviewer: str
    action: Literal["claim", "accept", "reject", "duplicate", "ban", "unban"]
    reason_code: str | None
    note: str
    original_complaint_id: str | None
    category: str | None = Field(description="The category an accept chose (None: the guess)")
    at: datetime


class ReviewLog(BaseModel):
    entries: list[LogEntry] = Field(description="The newest first")


class BanResult(BaseModel):
    complaint_id: str
    reporter_banned: bool


class AcceptBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    category: Category | None = Field(default=None, description="None: keep triage's guess")


class RejectBody(BaseModel):
    reason_code: str = Field(min_length=1, max_length=64)
    note: str = Field(min_length=1, max_length=2000, description="Why, for the citizen")


class DuplicateBody(BaseModel):
    original_complaint_id: str = Field(description="A UUID")
    original_tracking_code: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=2000)


class BanBody(BaseModel):
    note: str = Field(description="Why (required to ban, optional to lift a ban)")


ANSWERS: tuple[type[BaseModel], ...] = (
    Problem,
    ReviewItem,
    ReviewList,
    ReviewLog,
    BanResult,
    DeadLetterList,
    DeadLetterDetail,
    ReplayResult,
)
BODIES: tuple[type[BaseModel], ...] = (AcceptBody, RejectBody, DuplicateBody, BanBody, ReplayIn)
REVIEWERS = [{"reviewerToken": []}, {"staffAssertion": []}]
ADMINS = [{"staffAssertion": []}]


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _answer(description: str, model: type[BaseModel] = Problem) -> dict[str, Any]:
    return {"description": description, "content": _json(model)}


def _refusals(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "The body cannot be decoded (not UTF-8)",
        401: "No valid reviewer token or staff assertion",
        403: "A staff member without the needed role",
        404: "No such item (or action)",
        409: "Claimed by another reviewer, not claimed yet, or decided already",
        422: "A parameter or the body refused",
        503: "The review queue is not ready yet (starting up)",
    }
    return {str(status): _answer(meaning[status]) for status in statuses}


COMPLAINT_ID = {
    "name": "complaint_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The complaint's UUID (anything else: 422)",
}


def _review_paths() -> dict[str, Any]:
    common = _refusals(401, 403, 422, 503)
    item = {**common, **_refusals(404)}
    acting = {**item, **_refusals(409)}
    paths: dict[str, Any] = {
        "/v1/review": {
            "get": {
                "summary": "The queue's items of one status, the oldest first",
                "security": REVIEWERS,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(STATUSES), "default": "open"},
                    }
                ],
                "responses": {"200": _answer("The items", ReviewList), **common},
            }
        },
        "/v1/review-log": {"get": _log_operation(common)},
        "/v1/review/{complaint_id}": {
            "get": {
                "summary": "One item, with the complaints it resembles",
                "security": REVIEWERS,
                "parameters": [COMPLAINT_ID],
                "responses": {"200": _answer("The item", ReviewItem), **item},
            }
        },
        "/v1/review/{complaint_id}/claim": {
            "post": _action("Hold the item for 30 minutes", None, ReviewItem, acting)
        },
    }
    bodies = {"accept": AcceptBody, "reject": RejectBody, "duplicate": DuplicateBody}
    for action in ACTIONS:
        summary = f"Decide the claimed item: {action}"
        paths[f"/v1/review/{{complaint_id}}/{action}"] = {
            "post": _action(summary, bodies[action], ReviewItem, acting)
        }
    for action in ("ban", "unban"):
        paths[f"/v1/review/{{complaint_id}}/{action}"] = {
            "post": _action(f"{action.title()} the item's reporter", BanBody, BanResult, item)
        }
    return paths


def _action(
    summary: str,
    body: type[BaseModel] | None,
    answer: type[BaseModel],
    refusals: dict[str, Any],
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "security": REVIEWERS,
        "parameters": [COMPLAINT_ID],
        "responses": {"200": _answer("Done", answer), **refusals},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(body)}
        operation["responses"].update(_refusals(400))
    return operation


def _log_operation(common: dict[str, Any]) -> dict[str, Any]:
    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "schema": schema, "description": description}

    moment = {"type": "string", "format": "date-time"}
    return {
        "summary": "The audit log of claims, decisions and bans, the newest first",
        "security": REVIEWERS,
        "parameters": [
            query("reviewer", {"type": "string"}, "Only this reviewer's"),
            query("action", {"type": "string", "enum": list(LOG_ACTIONS)}, "Only this action"),
            query("since", moment, "From this time on (with its UTC offset)"),
            query("before", moment, "Before this time (with its UTC offset)"),
            query("limit", {"type": "integer", "default": 200}, "At most (1 to 1000)"),
        ],
        "responses": {"200": _answer("The entries", ReviewLog), **common},
    }


def _dead_letter_paths() -> dict[str, Any]:
    refusals = _refusals(401, 403)
    offset = {"name": "offset", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/v1/dead-letters": {
            "get": {
                "summary": "Triage's dead letters (admin staff)",
                "security": ADMINS,
                "responses": {"200": _answer("The letters", DeadLetterList), **refusals},
            }
        },
        "/v1/dead-letters/replay": {
            "post": {
                "summary": "Put chosen dead letters back on their topics",
                "security": ADMINS,
                "requestBody": {"required": True, "content": _json(ReplayIn)},
                "responses": {
                    "200": _answer("What was replayed", ReplayResult),
                    **refusals,
                    **_refusals(400, 422),
                },
            }
        },
        "/v1/dead-letters/{offset}": {
            "get": {
                "summary": "One dead letter, personal data masked",
                "security": ADMINS,
                "parameters": [offset],
                "responses": {
                    "200": _answer("The letter", DeadLetterDetail),
                    **refusals,
                    "404": _answer("No dead letter at this offset"),
                    "422": _answer("The offset is not a number"),
                },
            }
        },
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document (built once)."""
    _, schemas = models_json_schema(
        [(model, "serialization") for model in ANSWERS]
        + [(model, "validation") for model in BODIES],
        ref_template=REF,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lapor triage",
            "version": "1.0.0",
            "description": "The review queue of complaints triage is unsure of, its audit log,"
            " and triage's dead letters (docs/triage.md).",
        },
        "paths": {**_review_paths(), **_dead_letter_paths()},
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "reviewerToken": {"type": "http", "scheme": "bearer"},
                "staffAssertion": {"type": "apiKey", "in": "header", "name": HEADER},
            },
        },
    }
