"""Tracking codes: short, human-friendly, unguessable, with a check character.

`LPR-XXXX-XXXX-XXC`: ten random symbols from Crockford's base32 alphabet (50 bits, so codes
cannot be enumerated) and one Luhn mod 32 check symbol, which catches every single mistyped
symbol and most swaps of neighbours. Reading is forgiving: case, spaces, hyphens, and the
look-alikes I/L (for 1) and O (for 0) are accepted.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "LPR"
RANDOM_SYMBOLS = 10
_VALUE = {symbol: index for index, symbol in enumerate(ALPHABET)}
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})


class InvalidTrackingCode(ValueError):
    pass


def _check_symbol(body: str) -> str:
    """Luhn mod N over the alphabet (N = 32)."""
    n = len(ALPHABET)
    total = 0
    factor = 2
    for symbol in reversed(body):
        addend = factor * _VALUE[symbol]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def _format(symbols: str) -> str:
    return f"{PREFIX}-{symbols[0:4]}-{symbols[4:8]}-{symbols[8:11]}"


def new_tracking_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    return _format(body + _check_symbol(body))


def normalise_tracking_code(text: str) -> str:
    """The canonical form of a typed code; raises InvalidTrackingCode when it cannot be one."""
    cleaned = text.upper().replace("-", "").replace(" ", "")
    if cleaned.startswith(PREFIX):
        cleaned = cleaned[len(PREFIX) :]
    cleaned = cleaned.translate(_LOOKALIKES)
    if len(cleaned) != RANDOM_SYMBOLS + 1 or any(symbol not in _VALUE for symbol in cleaned):
        raise InvalidTrackingCode("a tracking code looks like LPR-XXXX-XXXX-XXX")
    body, check = cleaned[:-1], cleaned[-1]
    if _check_symbol(body) != check:
        raise InvalidTrackingCode("this tracking code has a typo: its check symbol does not match")
    return _format(cleaned)


# Walk-in booking codes: `KUN-XXXX-XXC` (kunjungan, a visit), six random symbols (30 bits,
# enough for the few thousand bookings open at any time) and the same check symbol.
BOOKING_PREFIX = "KUN"
BOOKING_SYMBOLS = 6


def new_booking_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BOOKING_SYMBOLS))
    symbols = body + _check_symbol(body)
    return f"{BOOKING_PREFIX}-{symbols[0:4]}-{symbols[4:7]}"


def normalise_booking_code(text: str) -> str:
    cleaned = text.upper().replace("-", "").replace(" ", "").removeprefix(BOOKING_PREFIX)
    cleaned = cleaned.translate(_LOOKALIKES)
    if len(cleaned) != BOOKING_SYMBOLS + 1 or any(symbol not in _VALUE for symbol in cleaned):
        raise InvalidTrackingCode("a booking code looks like KUN-XXXX-XXX")
    if _check_symbol(cleaned[:-1]) != cleaned[-1]:
        raise InvalidTrackingCode("this booking code has a typo: its check symbol does not match")
    return f"{BOOKING_PREFIX}-{cleaned[0:4]}-{cleaned[4:7]}"
