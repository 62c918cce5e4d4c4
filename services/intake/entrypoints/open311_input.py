"""Open311's inputs, checked at the edge with a precise message per field (the spec's error
format names the parameter): the request list's filters and a filing's parameters. A filing
is validated by the JSON API's own `ComplaintRequest` (the same rules as every channel), its
place matched to a regency as WhatsApp's are (`schemas.places`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.events import Category, Channel
from schemas.places import match_place, regency_at
from services.intake.adapters.open311 import RequestFilter
from services.intake.domain.complaints import Submission
from services.intake.domain.open311 import DEFAULT_DAYS, LIST_LIMIT
from services.intake.domain.tracking import InvalidTrackingCode, normalise_tracking_code
from services.intake.entrypoints.api_models import ComplaintRequest


class InvalidInput(ValueError):
    """Bad parameters: one message per field, `parameter: what is wrong`."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _time(name: str, value: str | None, problems: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"{name}: not a W3C datetime such as 2026-12-01T00:00:00+07:00")
        return None
    if moment.tzinfo is None:
        problems.append(f"{name}: give the time zone, e.g. 2026-12-01T00:00:00+07:00 or ...Z")
        return None
    return moment


def request_filter(params: Mapping[str, str | None], now: datetime) -> RequestFilter:
    """The spec's filters of `GET requests`: `service_request_id` (comma list, overrides the
    rest), `service_code` and `status` (comma lists), `start_date`/`end_date` (the last 90
    days by default; a range may not span more)."""
    problems: list[str] = []
    codes = []
    for text in _csv(params.get("service_request_id"))[: LIST_LIMIT + 1]:
        try:
            codes.append(normalise_tracking_code(text))
        except InvalidTrackingCode as error:
            problems.append(f"service_request_id: {text[:40]!r}: {error}")
    if len(codes) > LIST_LIMIT:
        problems.append(f"service_request_id: at most {LIST_LIMIT} ids at once")
    known = {category.value for category in Category}
    categories = _csv(params.get("service_code"))
    problems += [f"service_code: unknown service {c[:40]!r}" for c in categories if c not in known]
    statuses = set(_csv(params.get("status")))
    problems += [
        f"status: {s[:20]!r} is neither open nor closed" for s in statuses - {"open", "closed"}
    ]
    start, end = _window(params, now, problems)
    if problems:
        raise InvalidInput(problems)
    return RequestFilter(
        codes=codes,
        categories=categories,
        status=statuses.pop() if len(statuses) == 1 else None,
        start=start,
        end=end,
    )


def _window(
    params: Mapping[str, str | None], now: datetime, problems: list[str]
) -> tuple[datetime, datetime]:
    start = _time("start_date", params.get("start_date"), problems)
    end = _time("end_date", params.get("end_date"), problems)
    span = timedelta(days=DEFAULT_DAYS)
    if start is None and end is None:
        return now - span, now
    if start is None:
        assert end is not None
        return end - span, end
    if end is None:
        return start, start + span
    if end < start:
        problems.append("end_date: before start_date")
    elif end - start > span:
        problems.append(f"end_date: a range may span at most {DEFAULT_DAYS} days")
    return start, end


# --------------------------------------------------------------------------- filing


@dataclass(frozen=True)
class Filing:
    submission: Submission
    service_code: str
    fingerprint: str  # of the parameters as sent, for the idempotency rule


# `ComplaintRequest`'s fields as a GeoReport client names them.
_PARAMETER = {
    "name": "first_name",
    "nik": "attribute[nik]",
    "phone": "phone",
    "email": "email",
    "description": "description",
    "location": "lat/long",
    "anonymous": "attribute[anonymous]",
    "secret": "attribute[secret]",
}
_CHOICES = {"true": True, "false": False, "": False}
MEDIA_URL_MAX = 2000


def filing(form: Mapping[str, str]) -> Filing:
    """A filing's parameters as a submission of channel open311, or `InvalidInput`."""
    problems: list[str] = []
    service_code = (form.get("service_code") or "").strip()
    if not service_code:
        problems.append("service_code: required (GET services.json lists them)")
    elif service_code not in {category.value for category in Category}:
        problems.append(f"service_code: unknown service {service_code[:40]!r}")
    place = _place(form, problems)
    choices = {name: _choice(form, name, problems) for name in ("anonymous", "secret")}
    media_url = _media_url(form.get("media_url"), problems)
    name = " ".join(
        filter(None, (form.get("first_name", "").strip(), form.get("last_name", "").strip()))
    )
    fields: dict[str, Any] = {
        "name": name or None,
        "nik": form.get("attribute[nik]") or None,
        "phone": form.get("phone") or form.get("attribute[phone]") or None,
        "email": form.get("email") or None,
        "description": form.get("description", ""),
        "location": place,
        **choices,
    }
    try:
        checked = ComplaintRequest.model_validate(fields)
    except ValidationError as error:
        problems += [_message(detail) for detail in error.errors()]
        checked = None
    if problems or checked is None:
        raise InvalidInput(problems)
    submission_fields = checked.submission_fields()
    if media_url:  # kept as a link in the (sealed) text, never fetched
        submission_fields["description"] += f"\n\nTautan media: {media_url}"
    return Filing(
        Submission(channel=Channel.OPEN311, **submission_fields),
        service_code,
        fingerprint(form),
    )


def fingerprint(form: Mapping[str, str]) -> str:
    """The parameters as sent, but the key (a retry with a new key is the same request)."""
    kept = sorted((name, value) for name, value in form.items() if name != "api_key")
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()


def _message(detail: Mapping[str, Any]) -> str:
    location = [str(part) for part in detail.get("loc", ())]
    # The one model-wide rule is the contact's (a phone or an email).
    parameter = _PARAMETER.get(location[0], location[0]) if location else "phone/email"
    if location[:2] == ["location", "address"]:
        parameter = "address_string"
    text = str(detail.get("msg", "invalid")).removeprefix("Value error, ")
    if detail.get("type") == "missing" or detail.get("input", "") is None:
        text = "required"
    return f"{parameter}: {text}"


def _choice(form: Mapping[str, str], name: str, problems: list[str]) -> bool:
    value = form.get(f"attribute[{name}]", "").strip().lower()
    if value not in _CHOICES:
        problems.append(f"attribute[{name}]: choose true or false")
        return False
    return _CHOICES[value]


def _media_url(value: str | None, problems: list[str]) -> str | None:
    if not value:
        return None
    url = value.strip()
    if (
        len(url) > MEDIA_URL_MAX
        or not url.startswith(("https://", "http://"))
        or any(ch.isspace() for ch in url)
    ):
        problems.append("media_url: an http(s) link of at most 2000 characters")
        return None
    return url


def _place(form: Mapping[str, str], problems: list[str]) -> dict[str, Any] | None:
    """The incident location: a pin (`lat`/`long`) placed in its regency, else
    `address_string` matched to one. None (with a problem) when neither names a regency."""
    lat_text, long_text = form.get("lat", "").strip(), form.get("long", "").strip()
    address = form.get("address_string", "").strip() or None
    if lat_text or long_text:
        return _pin(lat_text, long_text, address, problems)
    if address is None:
        problems.append("lat/long: give lat and long, or address_string (a regency or city)")
        return None
    match = match_place(address)
    if match.regency is None:
        named = ", ".join(regency.name for regency in match.candidates)
        problems.append(
            f"address_string: which regency or city? {named}"
            if named
            else "address_string: no regency or city of Indonesia matches it"
        )
        return None
    return {"region_code": match.regency.code, "address": address[:500]}


def _pin(
    lat_text: str, long_text: str, address: str | None, problems: list[str]
) -> dict[str, Any] | None:
    try:
        lat, long = float(lat_text), float(long_text)
    except ValueError:
        problems.append("lat/long: give both, as decimal degrees (e.g. -6.9147 and 107.6098)")
        return None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        problems.append("lat/long: out of range")
        return None
    found = regency_at(lat, long)
    if found is None:
        problems.append("lat/long: not within a regency or city of Indonesia")
        return None
    return {
        "region_code": found.code,
        "address": address[:500] if address else None,
        "latitude": lat,
        "longitude": long,
    }
