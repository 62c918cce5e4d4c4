"""Request field types shared by intake's web API and walk-in desk: the identity checks of
`schemas.identity` as pydantic validators, so a bad NIK, phone or email is a field-level 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator

from schemas.identity import InvalidIdentity, check_email, check_nik, normalise_phone


def _field(check: Callable[[str], str]) -> Callable[[str], str]:
    def validate(value: str) -> str:
        try:
            return check(value)
        except InvalidIdentity as error:
            raise ValueError(str(error)) from None

    return validate


def _optional(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    validate = _field(check)
    return lambda value: validate(value) if value else None  # "" from a form means absent


Nik = Annotated[str, AfterValidator(_field(check_nik))]
Phone = Annotated[str, AfterValidator(_field(normalise_phone))]
OptionalPhone = Annotated[str | None, AfterValidator(_optional(normalise_phone))]
OptionalEmail = Annotated[str | None, AfterValidator(_optional(check_email))]
