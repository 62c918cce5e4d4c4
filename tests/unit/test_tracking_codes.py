import pytest

from services.intake.domain.tracking import (
    ALPHABET,
    InvalidTrackingCode,
    new_tracking_code,
    normalise_tracking_code,
)


def test_new_codes_are_well_formed_and_distinct() -> None:
    codes = {new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert code.startswith("LPR-") and len(code) == len("LPR-XXXX-XXXX-XXX")
        assert normalise_tracking_code(code) == code


def test_typed_forms_are_forgiven() -> None:
    code = new_tracking_code()
    typed = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert normalise_tracking_code(typed) == code


def test_every_single_symbol_typo_is_caught() -> None:
    code = new_tracking_code()
    symbols = code.replace("LPR-", "").replace("-", "")
    for position in range(len(symbols)):
        for replacement in ALPHABET:
            if replacement == symbols[position]:
                continue
            typo = symbols[:position] + replacement + symbols[position + 1 :]
            with pytest.raises(InvalidTrackingCode):
                normalise_tracking_code(typo)


@pytest.mark.parametrize("text", ["", "LPR-", "hello", "LPR-AAAA-AAAA-AAAA", "LPR-UUUU-UUUU-UUU"])
def test_malformed_codes_are_rejected(text: str) -> None:
    with pytest.raises(InvalidTrackingCode):
        normalise_tracking_code(text)
