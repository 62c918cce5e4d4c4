"""The back office's areas and who may use them: the home page lists the ones the member's
roles open, the navigation too. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.staff import Role, StaffMember


@dataclass(frozen=True)
class Area:
    key: str  # the texts' key (title and description in each language)
    path: str
    roles: frozenset[Role]
    ready: bool  # False: announced, its pages are still being built


AREAS = (
    Area("review", "/staff/tinjau", frozenset({Role.REVIEWER}), True),
    Area("disposition", "/staff/disposisi", frozenset({Role.DISPOSITION}), True),
    Area(
        "agency_inbox",
        "/staff/instansi/kasus",
        frozenset({Role.AGENCY_OFFICER, Role.AGENCY_SUPERVISOR}),
        True,
    ),
    Area("supervisor", "/staff/instansi/pengawasan", frozenset({Role.AGENCY_SUPERVISOR}), True),
    Area("walk_in", "/staff/meja", frozenset({Role.DESK_OFFICER}), True),
    Area("accounts", "/staff/admin/akun", frozenset({Role.ADMIN}), True),
    Area("rules", "/staff/admin/aturan", frozenset({Role.ADMIN}), True),
    Area("agencies", "/staff/admin/instansi", frozenset({Role.ADMIN}), True),
    Area("calendar", "/staff/admin/kalender", frozenset({Role.ADMIN}), True),
    Area("dead_letters", "/staff/admin/pesan-gagal", frozenset({Role.ADMIN}), True),
    Area("open311", "/staff/admin/open311", frozenset({Role.ADMIN}), True),
)


def areas_for(member: StaffMember) -> list[Area]:
    """The areas `member` may use, in the home page's order."""
    return [area for area in AREAS if member.has(*area.roles)]
