from datetime import UTC, datetime

import pytest

from schemas.events import (
    Category,
    Channel,
    ComplaintReceivedPayload,
    Eligibility,
    Location,
    Priority,
    Reporter,
)
from services.triage.domain.rules import Verdict, assess, classify, normalise

GOOD_NIK = "3171011501900001"


def complaint(description: str, **overrides: object) -> ComplaintReceivedPayload:
    fields: dict[str, object] = {
        "tracking_code": "LPR-AAAA-BBBB-CCC",
        "channel": Channel.WEB,
        "reporter": Reporter(name="Budi", nik=GOOD_NIK, phone="+6281234567890"),
        "description": description,
        "received_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return ComplaintReceivedPayload(**fields)  # type: ignore[arg-type]


def test_a_genuine_land_complaint_is_accepted_and_explained() -> None:
    result = assess(complaint("Sertifikat tanah saya tidak terbit di kantor BPN sejak 2019"))
    assert result.verdict is Verdict.ACCEPT
    assert result.category is Category.LAND
    assert "sertifikat" in result.matched_terms
    assert result.region_code == "31.71"  # from the NIK, since no location was given


def test_the_reported_location_wins_over_the_nik_region() -> None:
    result = assess(
        complaint(
            "Jalan rusak berlubang besar di depan pasar sudah tiga bulan",
            location=Location(region_code="32.73"),
        )
    )
    assert result.category is Category.INFRASTRUCTURE
    assert result.region_code == "32.73"
    assert result.region_source == "incident"


def test_without_a_location_the_nik_region_is_the_fallback_and_says_so() -> None:
    result = assess(complaint("Sertifikat tanah saya tidak terbit di kantor BPN sejak 2019"))
    assert (result.region_code, result.region_source) == ("31.71", "reporter_nik")
    assert "incident_region_unknown" not in result.warnings


def test_a_district_code_routes_at_its_regency_and_a_province_alone_at_the_province() -> None:
    text = "Jalan rusak berlubang besar di depan pasar sudah tiga bulan"
    district = assess(complaint(text, location=Location(region_code="35.78.01")))
    assert (district.region_code, district.region_source) == ("35.78", "incident")
    province = assess(complaint(text, location=Location(region_code="35")))
    assert (province.region_code, province.region_source) == ("35", "incident")


def test_an_unknown_incident_code_falls_back_to_the_nik_with_a_warning() -> None:
    text = "Jalan rusak berlubang besar di depan pasar sudah tiga bulan"
    result = assess(complaint(text, location=Location(region_code="32.99")))
    assert (result.region_code, result.region_source) == ("31.71", "reporter_nik")
    assert "incident_region_unknown" in result.warnings
    no_nik = Reporter(name="Budi", phone="+6281234567890")
    alone = assess(
        complaint(
            text,
            channel=Channel.WHATSAPP,
            reporter=no_nik,
            location=Location(region_code="99.99"),
        )
    )
    assert (alone.region_code, alone.region_source) == (None, None)


@pytest.mark.parametrize("text", ["tes", "Halo!", "p", "  TEST  "])
def test_greetings_and_tests_are_rejected(text: str) -> None:
    result = assess(complaint(text))
    assert result.verdict is Verdict.REJECT
    assert [reason.code for reason in result.reasons] == ["test_or_greeting"]


def test_a_prank_phrase_goes_to_review_not_straight_to_rejection() -> None:
    result = assess(complaint("Saya mau lapor bertengkar dengan istri soal uang belanja bulanan"))
    assert result.verdict is Verdict.REVIEW
    assert "prank_phrase" in {reason.code for reason in result.reasons}


def test_a_matter_in_court_is_rejected_with_its_reason() -> None:
    result = assess(
        complaint(
            "Sengketa lahan warisan keluarga kami di desa belum selesai",
            eligibility=Eligibility(in_court=True),
        )
    )
    assert result.verdict is Verdict.REJECT
    assert "in_court" in {reason.code for reason in result.reasons}


def test_an_invalid_nik_is_rejected() -> None:
    bad = Reporter(name="Budi", nik="3171013201900001", phone="+6281234567890")
    result = assess(
        complaint("Ijazah anak saya ditahan sekolah karena tunggakan SPP", reporter=bad)
    )
    assert result.verdict is Verdict.REJECT
    assert "nik_invalid" in {reason.code for reason in result.reasons}


def test_urgent_words_raise_priority() -> None:
    result = assess(complaint("Tetangga kami mengalami kekerasan dan diancam dibunuh oleh preman"))
    assert result.priority is Priority.URGENT
    assert "keras" in result.matched_terms  # the stem of "kekerasan"


def test_classification_ignores_case_and_accents() -> None:
    assert classify("PUSKESMAS menolak pasien BPJS")[0] is Category.HEALTH
    assert normalise("Bantuan  Sosial—BLT!") == "bantuan sosial blt"
    assert classify("sesuatu yang tidak jelas sama sekali")[0] is Category.OTHER
