"""The place-name matcher and the offline pin → regency lookup (`schemas.places`)."""

from __future__ import annotations

import pytest

from schemas.places import match_place, regency_at

# (what a citizen types, the regency code it must give)
CONFIDENT = [
    ("Jkt Barat", "31.73"),
    ("Jakarta Barat", "31.73"),
    ("jakbar", "31.73"),
    ("West Jakarta", "31.73"),
    ("Jakarta Pusat", "31.71"),
    ("Jakpus", "31.71"),
    ("Central Jakarta", "31.71"),
    ("Kota Adm. Jakarta Pusat", "31.71"),
    ("JAKSEL", "31.74"),
    ("jkt selatan", "31.74"),
    ("South Jakarta", "31.74"),
    ("Jakarta Timur", "31.75"),
    ("Jaktim", "31.75"),
    ("Jakarta Utara", "31.72"),
    ("Jkt. Utara", "31.72"),
    ("Kepulauan Seribu", "31.01"),
    ("Kab. Kep. Seribu", "31.01"),
    ("Pulau Seribu", "31.01"),
    ("Kab. Tangerang", "36.03"),
    ("Kabupaten Tangerang", "36.03"),
    ("kab tangerang", "36.03"),
    ("Kota Tangerang", "36.71"),
    ("Tangerang Selatan", "36.74"),
    ("Tangsel", "36.74"),
    ("South Tangerang", "36.74"),
    ("Kota Tegal", "33.76"),
    ("Kab. Tegal", "33.28"),
    ("Kota Bandung", "32.73"),
    ("Kab. Bandung", "32.04"),
    ("Kab. Bdg Barat", "32.17"),
    ("Bandung Barat", "32.17"),
    ("Bogor kota", "32.71"),
    ("Kabupaten Bogor", "32.01"),
    ("di Kab. Bogor", "32.01"),
    ("Cibinong", "32.01"),
    ("Kota Bekasi", "32.75"),
    ("Depok", "32.76"),
    ("Cimahi", "32.77"),
    ("Jogja", "34.71"),
    ("Kota Yogyakarta", "34.71"),
    ("Sleman", "34.04"),
    ("Gunung Kidul", "34.03"),
    ("Gunungkidul", "34.03"),
    ("Solo", "33.72"),
    ("Surakarta", "33.72"),
    ("Surabaya", "35.78"),
    ("Surabya", "35.78"),  # a typo
    ("Sidoarjo", "35.15"),
    ("Banyuwangi", "35.10"),
    ("Kab Malang", "35.07"),
    ("Kota Malang", "35.73"),
    ("Makassar", "73.71"),
    ("Makasar", "73.71"),
    ("Ujung Pandang", "73.71"),
    ("Medan", "12.71"),
    ("Kota Medan", "12.71"),
    ("Deli Serdang", "12.07"),
    ("Palembang", "16.71"),
    ("Pekanbaru", "14.71"),
    ("Tanjungpinang", "21.72"),
    ("Batam", "21.71"),
    ("Kota Bengkulu", "17.71"),
    ("Denpasar", "51.71"),
    ("Kab. Badung", "51.03"),
    ("Mataram", "52.71"),
    ("Kota Kupang", "53.71"),
    ("Pontianak", "61.71"),
    ("Balikpapan", "64.71"),
    ("Banjar, Kalsel", "63.03"),
    ("Banjar Jawa Barat", "32.79"),
    ("Toba Samosir", "12.12"),  # today's Kab. Toba
    ("Sitaro", "71.09"),
    ("Jayapura kota", "91.71"),
]

# A bare name that is both a kota and a kabupaten is asked, never guessed.
AMBIGUOUS = [
    ("Bandung", {"32.73", "32.04"}),
    ("Bandung, Jawa Barat", {"32.73", "32.04"}),
    ("Tegal", {"33.76", "33.28"}),
    ("Bogor", {"32.71", "32.01"}),
    ("Bekasi", {"32.75", "32.16"}),
    ("Tangerang", {"36.71", "36.03"}),
    ("Semarang", {"33.74", "33.22"}),
    ("Malang", {"35.73", "35.07"}),
    ("Kupang", {"53.71", "53.01"}),
    ("Jakarta", {"31.71", "31.72", "31.73", "31.74", "31.75"}),
    ("DKI Jakarta", {"31.71", "31.72", "31.73", "31.74", "31.75"}),
]


@pytest.mark.parametrize(("typed", "code"), CONFIDENT)
def test_a_place_as_citizens_type_it_finds_its_regency(typed: str, code: str) -> None:
    match = match_place(typed)
    assert match.regency is not None, f"{typed!r}: candidates {match.candidates}"
    assert match.regency.code == code, f"{typed!r} → {match.regency.name}"


def test_at_least_fifty_real_spellings_are_checked() -> None:
    assert len(CONFIDENT) + len(AMBIGUOUS) >= 50


@pytest.mark.parametrize(("typed", "codes"), AMBIGUOUS)
def test_an_ambiguous_name_gives_candidates_and_no_guess(typed: str, codes: set[str]) -> None:
    match = match_place(typed)
    assert match.regency is None
    assert {r.code for r in match.candidates} == codes


@pytest.mark.parametrize("typed", ["", "xy", "qwertyuiop asdfgh", "12345"])
def test_nonsense_finds_nothing(typed: str) -> None:
    match = match_place(typed)
    assert match.regency is None and match.candidates == ()


def test_a_near_miss_offers_candidates_with_the_right_one_among_them() -> None:
    match = match_place("Probolingo")  # both a kota and a kabupaten, and misspelt
    assert match.regency is None
    assert {"35.74", "35.13"} <= {r.code for r in match.candidates}


# (latitude, longitude, the regency code a pin there must give)
PINS = [
    (-6.1754, 106.8272, "31.71"),  # Monas, Jakarta Pusat
    (-6.2443, 106.7993, "31.74"),  # Blok M, Jakarta Selatan
    (-6.1040, 106.8800, "31.72"),  # Tanjung Priok, Jakarta Utara
    (-6.9025, 107.6188, "32.73"),  # Gedung Sate, Kota Bandung
    (-7.2458, 112.7378, "35.78"),  # Tugu Pahlawan, Surabaya
    (-5.1436, 119.4079, "73.71"),  # Pantai Losari, Makassar
    (3.5752, 98.6837, "12.71"),  # Istana Maimun, Medan
    (-6.4817, 106.8540, "32.01"),  # Cibinong, Kab. Bogor
    (-6.5976, 106.7996, "32.71"),  # Kebun Raya, Kota Bogor
    (-7.7925, 110.3658, "34.71"),  # Malioboro, Yogyakarta
    (-8.6500, 115.2167, "51.71"),  # Denpasar
    (-6.9903, 110.4229, "33.74"),  # Simpang Lima, Semarang
    (-2.9911, 104.7567, "16.71"),  # Palembang
    (-0.0263, 109.3425, "61.71"),  # Pontianak
    (-5.7460, 106.6140, "31.01"),  # Pulau Pramuka, Kepulauan Seribu
]


@pytest.mark.parametrize(("latitude", "longitude", "code"), PINS)
def test_a_pin_is_placed_in_its_regency(latitude: float, longitude: float, code: str) -> None:
    found = regency_at(latitude, longitude)
    assert found is not None and found.code == code, found


def test_a_pin_far_from_indonesia_is_not_placed() -> None:
    assert regency_at(-12.0, 100.0) is None  # the Indian Ocean
    assert regency_at(48.8566, 2.3522) is None  # Paris
