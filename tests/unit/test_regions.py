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
