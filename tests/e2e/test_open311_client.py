"""Open311 as a civic app meets it: the four services as processes, driven by `georeport`
(an independent GeoReport v2 client from PyPI, not written here). It lists the services,
reads a definition and reads requests back in JSON and XML. It has no call for filing, so the
filing is the spec's wire format sent with `requests`, the HTTP library georeport itself uses
(the older `open311` and `three` clients that do file run on Python 2 only)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest
import requests
from georeport import GeoReport

from services.intake.entrypoints.open311_cli import add_client_cli
from tests.e2e.conftest import Pipeline
from tests.support import distinct_complaint, eventually

pytestmark = pytest.mark.e2e

_reporter = itertools.count(7_100)


def complaint_form(api_key: str, **attributes: str) -> dict[str, str]:
    """A land complaint of a reporter of its own, placed by name as a client app would."""
    body = distinct_complaint(next(_reporter), "0857")
    return {
        "api_key": api_key,
        "service_code": "land",
        "address_string": "Kota Surabaya",
        "description": str(body["description"]),
        "first_name": "Warga",
        "last_name": "Uji",
        "phone": str(body["phone"]),
        "attribute[nik]": str(body["nik"]),
        **{f"attribute[{name}]": value for name, value in attributes.items()},
    }


def file(root: str, form: dict[str, str]) -> dict[str, Any]:
    response = requests.post(f"{root}/requests.json", data=form, timeout=30)
    assert response.status_code == 200, response.text
    (answer,) = response.json()
    return answer  # type: ignore[no-any-return]


def as_xml_text(value: object) -> str | None:
    """How a JSON value reads once sent as XML and parsed back (xmltodict: strings)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def test_a_civic_app_lists_files_and_reads_back_through_open311(
    pipeline: Pipeline, database_url: str
) -> None:
    root = f"{pipeline.intake_url}/open311/v2"
    _, api_key = await asyncio.to_thread(add_client_cli, "Aplikasi Warga", database_url)
    app, app_xml = GeoReport(root), GeoReport(root, output_format="xml")

    services = await asyncio.to_thread(app.get_service_list)
    assert len(services) == 12
    assert {"service_code": "land", "service_name": "Pertanahan"}.items() <= services[0].items()
    definition = await asyncio.to_thread(app.get_service_definition, "land")
    nik = next(a for a in definition["attributes"] if a["code"] == "nik")
    assert nik["required"] is True and nik["datatype"] == "string"

    public = await asyncio.to_thread(file, root, complaint_form(api_key))
    secret = await asyncio.to_thread(file, root, complaint_form(api_key, secret="true"))
    code, secret_code = public["service_request_id"], secret["service_request_id"]
    token = await asyncio.to_thread(
        requests.get, f"{root}/tokens/{public['token']}.json", timeout=30
    )
    assert token.json()[0]["service_request_id"] == code

    async def listed_with_agency() -> dict[str, Any] | None:
        found = await asyncio.to_thread(app.get_service_requests, service_request_id=code)
        return found[0] if found and found[0]["agency_responsible"] else None

    request = await eventually(listed_with_agency, within=120)
    assert request["status"] == "open" and request["service_code"] == "land"
    assert request["description"] == "Pertanahan"  # no public summary yet
    assert request["address"] == "Kota Surabaya, Jawa Timur"
    assert request["expected_datetime"]
    assert code in [
        r["service_request_id"] for r in await asyncio.to_thread(app.get_service_requests)
    ]
    assert await asyncio.to_thread(app.get_service_request, code) == request

    # XML and JSON give the same content.
    in_xml = await asyncio.to_thread(app_xml.get_service_request, code)
    assert dict(in_xml) == {name: as_xml_text(value) for name, value in request.items()}

    # The secret report was accepted too (its own status says so), yet is never public.
    async with httpx.AsyncClient(base_url=pipeline.intake_url) as intake:

        async def secret_accepted() -> bool:
            status = (await intake.get(f"/v1/complaints/{secret_code}")).json()["status"]
            return status not in ("received", "under_review")

        await eventually(secret_accepted, within=120)
    everything = await asyncio.to_thread(app.get_service_requests)
    assert secret_code not in [r["service_request_id"] for r in everything]
    lookup = await asyncio.to_thread(
        requests.get, f"{root}/requests/{secret_code}.json", timeout=30
    )
    assert lookup.status_code == 404 and lookup.json()[0]["code"] == 404
