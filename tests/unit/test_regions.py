"""The shared table of provinces and regencies."""

from __future__ import annotations

from schemas import regions


def test_the_table_holds_every_province_and_regency() -> None:
    assert len(regions.provinces()) == 38
    assert len(regions.regencies()) == 514
    assert {r.province.code for r in regions.regencies()} == {p.code for p in regions.provinces()}


def test_a_code_finds_its_regency_and_kota_is_told_from_kabupaten() -> None:
    bandung_city = regions.regency("32.73")
    assert bandung_city is not None and bandung_city.name == "Kota Bandung"
    assert bandung_city.is_city and bandung_city.province.name == "Jawa Barat"
    bandung_regency = regions.regency("32.04.01")  # a district code: its regency
    assert bandung_regency is not None and not bandung_regency.is_city
    assert regions.regency("99.99") is None


def test_an_incident_code_must_name_a_known_regency_or_one_of_its_districts() -> None:
    assert regions.incident_regency("32.73").name == "Kota Bandung"  # type: ignore[union-attr]
    assert regions.incident_regency("32.73.01").code == "32.73"  # type: ignore[union-attr]
    for code in ("32", "32.99", "32.73.99", "99.99", "3273", "32.7", "32.73.0", ""):
        assert regions.incident_regency(code) is None, code


def test_the_incident_location_names_its_regency_for_the_people_who_read_it() -> None:
    from schemas.events import Channel
    from services.intake.domain.complaints import Submission, incident_location

    def submission(**place: object) -> Submission:
        return Submission(Channel.WEB, "Budi", None, "+6281234567890", None, "x" * 20, **place)  # type: ignore[arg-type]

    chosen = incident_location(submission(region_code="32.73", latitude=-6.9, longitude=107.6))
    assert (chosen.region_code, chosen.city, chosen.latitude) == ("32.73", "Kota Bandung", -6.9)
    typed = incident_location(submission(region_code="32.73", city="Cibiru, Bandung"))
    assert typed.city == "Cibiru, Bandung"  # what the citizen typed is kept
    assert incident_location(submission()).region_code is None
