"""Identity value checks shared by every service: NIK structure and phone normalisation.

Intake uses them to catch typos while the citizen is still there; triage uses them again
before judging pranks, duplicates and eligibility.
"""

from __future__ import annotations

import re
from datetime import date

import phonenumbers

_NIK = re.compile(r"^\d{16}$")


class InvalidIdentity(ValueError):
    pass


def check_nik(raw: str) -> str:
    """A structurally valid NIK (16 digits, plausible region and birth date), or an error.

    Layout: PP KK CC DDMMYY SSSS; women have 40 added to the day of birth.
    """
    nik = re.sub(r"[\s.-]", "", raw)
    if not _NIK.match(nik):
        raise InvalidIdentity("NIK must be exactly 16 digits")
    province, regency = int(nik[0:2]), int(nik[2:4])
    if not 11 <= province <= 96:
        raise InvalidIdentity("NIK province code (digits 1-2) does not exist")
    if regency == 0:
        raise InvalidIdentity("NIK regency code (digits 3-4) cannot be 00")
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    try:
        # Two-digit years are ambiguous; any century gives the same day/month validity
        # except 29 February, which 2000 (a leap year) accepts whenever it is possible.
        date(2000 + year, month, day)
    except ValueError:
        raise InvalidIdentity("NIK birth date (digits 7-12) is not a real date") from None
    if nik[12:16] == "0000":
        raise InvalidIdentity("NIK serial (digits 13-16) starts at 0001")
    return nik


def normalise_phone(raw: str, default_region: str = "ID") -> str:
    """E.164 form of a phone number (`0811...`, `62811...`, `+62 811-...` → `+62811...`)."""
    text = raw.strip()
    if text.isdigit() and text.startswith("62"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentity("phone number cannot be read") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentity("phone number is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of_nik(nik: str) -> str:
    """The regency/city code (`PP.KK`) where a NIK was first registered."""
    return f"{nik[0:2]}.{nik[2:4]}"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(raw: str) -> str:
    """A plausible email address, lower-cased; the mailbox itself is proved by a code later."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidIdentity("email address is not valid")
    return email
