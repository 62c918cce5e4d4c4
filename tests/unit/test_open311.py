"""Open311 GeoReport v2, the pure parts: the catalogue, what a complaint shows the public,
the wire formats, the facts the events give, and the inputs' checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    Language,
    Priority,
)
from schemas.places import distance_km, regency_at, regency_point
from services.intake.domain import open311
from services.intake.entrypoints.open311_input import InvalidInput, filing, request_filter

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
ROW = {
    "tracking_code": "LPR-04PA-FCFY-EST",
    "status": "forwarded_to_agency",
    "category": "infrastructure",
    "public_region": "32.73",
    "public_summary": None,
    "agency_name": "Pemerintah Kota Bandung",
    "received_at": NOW,
    "updated_at": NOW,
    "response_due_at": NOW + timedelta(days=7),
}


def test_every_category_is_a_service_named_in_both_languages() -> None:
    for category in Category:
        indonesian = open311.service(category, Language.INDONESIAN)
        english = open311.service(category, Language.ENGLISH)
        assert indonesian["service_code"] == category.value and indonesian["metadata"] is True
        assert indonesian["service_name"] and english["service_name"]
        assert "_" not in indonesian["service_name"]
    assert open311.service(Category.SOCIAL_ASSISTANCE, Language.INDONESIAN)["service_name"] == (
        "Bantuan sosial"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Language.INDONESIAN),
        ("id-ID,id;q=0.9", Language.INDONESIAN),
        ("en-GB,en;q=0.8", Language.ENGLISH),
        ("fr, en", Language.INDONESIAN),
    ],
)
def test_the_language_is_the_clients_first_choice(header: str | None, expected: Language) -> None:
    assert open311.language_of(header) is expected


def test_the_nik_attribute_is_required_and_the_choices_are_lists() -> None:
    attributes = {a["code"]: a for a in open311.attributes(Language.INDONESIAN)}
    assert attributes["nik"]["required"] is True
    assert "16 angka" in attributes["nik"]["datatype_description"]
    for choice in ("anonymous", "secret"):
        assert attributes[choice]["datatype"] == "singlevaluelist"
        assert [v["key"] for v in attributes[choice]["values"]] == ["false", "true"]


def test_a_public_request_shows_the_regency_point_and_the_category_not_the_words() -> None:
    request = open311.public_request(ROW, Language.INDONESIAN)
    assert request["description"] == "Infrastruktur"
    assert request["address"] == "Kota Bandung, Jawa Barat"
    assert request["status"] == "open" and request["status_notes"] == "Diteruskan ke instansi"
    assert request["expected_datetime"] == "2026-12-14T09:00:00+07:00"
    point = regency_point("32.73")
    assert point is not None
    assert (request["lat"], request["long"]) == (round(point[0], 2), round(point[1], 2))
    summarised = open311.public_request(
        {**ROW, "public_summary": "Sedang diperbaiki."}, Language.ENGLISH
    )
    assert summarised["description"] == "Sedang diperbaiki."
    closed = open311.public_request({**ROW, "status": "closed"}, Language.ENGLISH)
    assert closed["status"] == "closed" and closed["status_notes"] == "Closed"
    nowhere = open311.public_request({**ROW, "public_region": None}, Language.INDONESIAN)
    assert (nowhere["address"], nowhere["lat"], nowhere["long"]) == (None, None, None)


def test_a_regencys_point_is_its_centre_not_a_namesake_far_away() -> None:
    """Kota Bandung's reference points include same-named places up to 100 km off (their mean
    lies 40 km south); the point shown is in the city, and places back in it."""
    point = regency_point("32.73")
    assert point is not None
    assert distance_km(*point, -6.9147, 107.6098) < 5
    found = regency_at(*point)
    assert found is not None and found.code == "32.73"


def test_the_xml_nests_lists_and_leaves_nothing_out() -> None:
    request = open311.public_request(ROW, Language.INDONESIAN)
    root = ElementTree.fromstring(open311.to_xml("service_requests", "request", [request]))
    (element,) = root.findall("request")
    assert [child.tag for child in element] == list(request)
    assert element.findtext("zipcode") == "" and element.findtext("lat") == str(request["lat"])
    definition = ElementTree.fromstring(
        open311.definition_xml(open311.service_definition(Category.LAND, Language.INDONESIAN))
    )
    values = definition.findall("attributes/attribute/values/value")
    assert [v.findtext("key") for v in values] == ["false", "true", "false", "true"]


def accepted(**payload: object) -> ComplaintAccepted:
    complaint_id = uuid.uuid4()
    return ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code="LPR-04PA-FCFY-EST",
            channel=Channel.OPEN311,
            category=Category.LAND,
            priority=Priority.NORMAL,
            summary="x",
            **payload,  # type: ignore[arg-type]
        ),
    )


def test_only_the_incident_region_is_public_and_secret_or_anonymous_is_not_listed() -> None:
    (incident,) = open311.public_facts([accepted(region_code="32.73", region_source="incident")])
    assert (incident.category, incident.region, incident.public) == ("land", "32.73", True)
    (home,) = open311.public_facts([accepted(region_code="32.73", region_source="reporter_nik")])
    assert home.region is None
    (secret,) = open311.public_facts([accepted(secret=True)])
    (anonymous,) = open311.public_facts([accepted(anonymous=True)])
    assert secret.public is False and anonymous.public is False


def test_the_request_filter_defaults_to_the_last_90_days() -> None:
    wanted = request_filter({}, NOW)
    assert (wanted.start, wanted.end) == (NOW - timedelta(days=90), NOW)
    wanted = request_filter({"start_date": "2026-11-01T00:00:00Z", "status": "open,closed"}, NOW)
    assert wanted.end == datetime(2027, 1, 30, tzinfo=UTC) and wanted.status is None
    wanted = request_filter({"service_request_id": "lpr 04pa fcfy est,", "status": "closed"}, NOW)
    assert list(wanted.codes) == ["LPR-04PA-FCFY-EST"] and wanted.status == "closed"


def test_the_request_filter_names_each_bad_parameter() -> None:
    with pytest.raises(InvalidInput) as refused:
        request_filter(
            {
                "service_request_id": "nope",
                "service_code": "land,jalan",
                "status": "lost",
                "start_date": "2026-01-01T00:00:00",
                "end_date": "kemarin",
            },
            NOW,
        )
    assert [m.split(":")[0] for m in refused.value.messages] == [
        "service_request_id",
        "service_code",
        "status",
        "start_date",
        "end_date",
    ]
    with pytest.raises(InvalidInput, match="at most 90 days"):
        request_filter(
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, NOW
        )


FORM = {
    "service_code": "land",
    "lat": "-6.9147",
    "long": "107.6098",
    "description": "Sertifikat tanah kami tidak terbit sejak 2019 padahal sudah lunas.",
    "first_name": "Siti",
    "last_name": "Aminah",
    "phone": "0812-3456-7890",
    "attribute[nik]": "3171015501900001",
}


def test_a_filing_becomes_an_open311_submission_placed_in_its_regency() -> None:
    parsed = filing({**FORM, "media_url": "https://foto.example/a.jpg"})
    submission = parsed.submission
    assert submission.channel is Channel.OPEN311 and submission.name == "Siti Aminah"
    assert submission.region_code == "32.73" and submission.latitude == -6.9147
    assert submission.description.endswith("Tautan media: https://foto.example/a.jpg")
    assert parsed.service_code == "land"
    assert (
        parsed.fingerprint
        == filing({**FORM, "media_url": "https://foto.example/a.jpg"}).fingerprint
    )
    by_name = filing({**FORM, "lat": "", "long": "", "address_string": "Kota Surabaya"})
    assert by_name.submission.region_code == "35.78"


def test_a_bad_filing_names_each_parameter() -> None:
    with pytest.raises(InvalidInput) as refused:
        filing(
            {
                **FORM,
                "service_code": "",
                "lat": "91",
                "first_name": "",
                "last_name": "",
                "attribute[nik]": "12",
                "attribute[anonymous]": "maybe",
                "media_url": "file:///etc/passwd",
            }
        )
    named = [m.split(":")[0] for m in refused.value.messages]
    for parameter in (
        "service_code",
        "lat/long",
        "attribute[anonymous]",
        "media_url",
        "first_name",
        "attribute[nik]",
    ):
        assert parameter in named, refused.value.messages
    with pytest.raises(InvalidInput, match=r"^phone/email: give a phone number or an email"):
        filing({**FORM, "phone": ""})
    with pytest.raises(InvalidInput, match="address_string: which regency or city"):
        filing({**FORM, "lat": "", "long": "", "address_string": "Bandung"})
