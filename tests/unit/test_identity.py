import pytest

from schemas.identity import InvalidIdentity, check_nik, normalise_phone, region_of_nik


@pytest.mark.parametrize(
    "nik",
    [
        "3171011501900001",  # man born 15-01-1990 in Jakarta Pusat
        "3171015501900001",  # woman: day + 40
        "3273 0129 0200 0007",  # spaces are tolerated; 29 Feb 2000
    ],
)
def test_valid_niks(nik: str) -> None:
    assert check_nik(nik) == nik.replace(" ", "")


@pytest.mark.parametrize(
    ("nik", "problem"),
    [
        ("317101150190000", "16 digits"),
        ("31710115019000012", "16 digits"),
        ("3171a11501900001", "16 digits"),
        ("0171011501900001", "province"),
        ("9971011501900001", "province"),
        ("3100011501900001", "regency"),
        ("3171013201900001", "birth date"),  # day 32
        ("3171017201900001", "birth date"),  # day 72 - 40 = 32
        ("3171011513900001", "birth date"),  # month 13
        ("3171011501900000", "serial"),
    ],
)
def test_invalid_niks_say_why(nik: str, problem: str) -> None:
    with pytest.raises(InvalidIdentity, match=problem):
        check_nik(nik)


@pytest.mark.parametrize(
    "raw", ["0812-3456-7890", "62 812 3456 7890", "+62 812-3456-7890", "6281234567890"]
)
def test_phone_numbers_normalise_to_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+6281234567890"


@pytest.mark.parametrize("raw", ["12", "abc", "0800", "+1 555"])
def test_invalid_phone_numbers(raw: str) -> None:
    with pytest.raises(InvalidIdentity):
        normalise_phone(raw)


def test_region_of_nik() -> None:
    assert region_of_nik("3171011501900001") == "31.71"
