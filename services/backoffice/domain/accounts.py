"""Staff accounts and their roles, pure: what makes an account valid, and the staff member
(`schemas.staff.StaffMember`) a signed-in account is to the other services."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas.staff import AGENCY_ROLES, Role, StaffMember

STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
AGENCY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")


class InvalidAccount(ValueError):
    """An account that cannot exist as asked (the message says why, in English)."""


@dataclass(frozen=True)
class StaffAccount:
    staff_id: str
    display_name: str
    roles: frozenset[Role]
    agency_code: str | None
    totp_enabled: bool
    disabled: bool
    created_at: datetime

    def member(self) -> StaffMember:
        return StaffMember(self.staff_id, self.roles, self.agency_code)

    def needs_totp(self) -> bool:
        """Admins must use one-time codes; the others may."""
        return self.totp_enabled or Role.ADMIN in self.roles


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    try:
        roles = frozenset(Role(value.strip()) for value in values if value.strip())
    except ValueError as error:
        known = ", ".join(role.value for role in Role)
        raise InvalidAccount(f"unknown role ({error}); roles are {known}") from None
    if not roles:
        raise InvalidAccount("give at least one role")
    return roles


def checked_account(
    staff_id: str, display_name: str, roles: frozenset[Role], agency_code: str | None
) -> tuple[str, str, frozenset[Role], str | None]:
    """The account's fields, normalised, or InvalidAccount: an id of lower-case letters,
    digits and . _ -; a name; an agency exactly when the roles include an agency role."""
    staff_id = staff_id.strip().lower()
    if not STAFF_ID.match(staff_id):
        raise InvalidAccount("the id is 2-63 lower-case letters, digits, '.', '_' or '-'")
    display_name = " ".join(display_name.split())
    if not 1 <= len(display_name) <= 120:
        raise InvalidAccount("the name is 1-120 characters")
    agency = (agency_code or "").strip().upper() or None
    if roles & AGENCY_ROLES and agency is None:
        raise InvalidAccount("agency roles need the agency's code")
    if agency is not None and not roles & AGENCY_ROLES:
        raise InvalidAccount("only agency roles are bound to an agency")
    if agency is not None and not AGENCY_CODE.match(agency):
        raise InvalidAccount("the agency code is upper-case letters, digits, '_', '.' or '-'")
    return staff_id, display_name, roles, agency


def may_use(member: StaffMember, required: Iterable[Role]) -> bool:
    """The server-side role check of every page: the member holds one of the page's roles
    (a page that names no role is open to every signed-in member)."""
    wanted = tuple(required)
    return not wanted or member.has(*wanted)
