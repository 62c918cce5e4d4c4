"""Validated field types shared by routing's HTTP routers, and the 422 they raise for a
value only the database can judge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, Field

REGION_PATTERN = r"^[0-9]{2}(\.[0-9]{2}){0,2}$"  # [0-9]: \d would take any script's digits
AGENCY_PATTERN = r"^[A-Z0-9][A-Z0-9.\-]{1,40}$"  # as the directory loader accepts them
RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,62}$"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9-]{1,40}$"  # a tracking code, leniently


def _storable(value: str) -> str:
    """PostgreSQL text holds neither NUL nor unpaired surrogates: refuse them (422) here
    rather than fail (500) in the database driver."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _in_utc_range(value: datetime) -> datetime:
    """A datetime the database can compare: offsets at year 1 or 9999 overflow UTC."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("out of range") from None


Text = Annotated[str, AfterValidator(_storable)]
AgencyCode = Annotated[str, Field(pattern=AGENCY_PATTERN)]
RuleId = Annotated[str, Path(pattern=RULE_ID_PATTERN)]
QueryTime = Annotated[datetime | None, AfterValidator(lambda v: v and _in_utc_range(v))]


def unprocessable(field: tuple[str, ...], message: str, value: object) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's validation errors, so the document declares one
    422 schema for both."""
    return RequestValidationError(
        [{"loc": ("body", *field), "msg": message, "type": "value_error", "input": value}]
    )
