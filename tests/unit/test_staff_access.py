"""What the back office's staff may do in each service, mapped from their roles (issue 15):
routing's grants, triage's reviewers, the shared check of the header, the dead letters'
masking. Pure: no I/O."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi import HTTPException

from schemas import staff
from schemas.events import Category, Channel, ComplaintAccepted, ComplaintAcceptedPayload, Priority
from schemas.events.routing import CaseStatus
from schemas.staff import Role, StaffMember
from services.messaging.deadletter import masked_payload
from services.routing.adapters.repository import Officer
from services.routing.domain import (
    MANUAL_DISPOSITION,
    Grant,
    NotReassignable,
    check_reassignable,
    staff_access,
    token_access,
)
from services.runtime.staff import vouched
from services.triage.domain.review import staff_reviewer

SECRET = "unit-staff-secret"


def member(*roles: Role, agency: str | None = None) -> StaffMember:
    return StaffMember("staff-1", frozenset(roles), agency)


def test_tokens_keep_what_they_could_do() -> None:
    assert token_access("ATR-BPN", "officer").grants == {Grant.DESK}
    assert token_access("ATR-BPN", "admin").grants == {Grant.DESK}  # another agency's admin
    assert token_access(MANUAL_DISPOSITION, "officer").grants == {Grant.DESK}
    setwapres = token_access(MANUAL_DISPOSITION, "admin")
    assert setwapres.grants == {Grant.DESK, Grant.DISPOSE, Grant.ADMINISTER}
    assert not Officer("o", "ATR-BPN", "admin").may(Grant.ADMINISTER)
    assert Officer("a", MANUAL_DISPOSITION, "admin").may(Grant.DISPOSE)


def test_agency_staff_work_at_their_agency_desk_and_supervisors_supervise_it() -> None:
    officer = staff_access(member(Role.AGENCY_OFFICER, agency="ATR-BPN"))
    assert officer.agency_code == "ATR-BPN" and officer.grants == {Grant.DESK}
    chief = staff_access(member(Role.AGENCY_SUPERVISOR, agency="ATR-BPN"))
    assert chief.agency_code == "ATR-BPN" and chief.grants == {Grant.DESK, Grant.SUPERVISE}
    # an agency role without an agency binds to nothing
    assert staff_access(member(Role.AGENCY_SUPERVISOR)).grants == frozenset()


def test_disposition_and_admin_staff_do_what_setwapres_admins_did_split_in_two() -> None:
    disposition = staff_access(member(Role.DISPOSITION))
    assert disposition.agency_code == MANUAL_DISPOSITION
    assert disposition.grants == {Grant.DESK, Grant.DISPOSE}
    admin = staff_access(member(Role.ADMIN))
    assert admin.grants == {Grant.ADMINISTER}  # rules and calendar, not cases
    both = staff_access(member(Role.ADMIN, Role.AGENCY_OFFICER, agency="KEMENKES"))
    assert both.agency_code == "KEMENKES" and both.grants == {Grant.DESK, Grant.ADMINISTER}


def test_reviewers_and_desk_officers_get_nothing_from_routing() -> None:
    for role in (Role.REVIEWER, Role.DESK_OFFICER):
        assert staff_access(member(role, agency="ATR-BPN")).grants == frozenset()


def test_a_staff_caller_is_recorded_under_their_staff_id() -> None:
    caller = Officer.staff(member(Role.AGENCY_OFFICER, agency="ATR-BPN"))
    assert (caller.officer_id, caller.agency_code) == ("staff-1", "ATR-BPN")
    assert caller.may(Grant.DESK) and not caller.may(Grant.DISPOSE)


@pytest.mark.parametrize(
    "status",
    [CaseStatus.CLOSED, CaseStatus.REOPENED, CaseStatus.NOT_IN_REMIT],
)
def test_only_cases_the_agency_works_on_are_reassigned(status: CaseStatus) -> None:
    with pytest.raises(NotReassignable):
        check_reassignable(status)
    check_reassignable(CaseStatus.IN_PROGRESS)


def test_reviewers_and_admins_review_under_their_staff_id() -> None:
    assert staff_reviewer(member(Role.REVIEWER)) == "staff-1"
    assert staff_reviewer(member(Role.ADMIN)) == "staff-1"
    assert staff_reviewer(member(Role.AGENCY_OFFICER, agency="ATR-BPN")) is None


def test_the_header_is_optional_but_never_wrong() -> None:
    assert vouched(None, SECRET) is None
    good = staff.sign(member(Role.ADMIN), SECRET)
    assert vouched(good, SECRET) == member(Role.ADMIN)
    for bad in (good + "0", staff.sign(member(Role.ADMIN), "another-secret"), "", "x.y"):
        with pytest.raises(HTTPException) as refused:
            vouched(bad, SECRET)
        assert refused.value.status_code == 401


def test_a_dead_letter_is_shown_with_personal_data_masked_or_scrubbed() -> None:
    complaint_id = uuid.uuid4()
    event = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code="LPR-MASK-0000-001",
            channel=Channel.WEB,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="32.73",
            summary="Tanah saya diserobot",
        ),
    )
    shown = masked_payload(event.model_dump_json().encode())
    assert isinstance(shown, dict) and shown["payload"]["tracking_code"] == "LPR-MASK-0000-001"
    assert "Tanah" not in json.dumps(shown)  # the citizen's words are personal data
    raw = masked_payload(b'{"broken": "NIK 3273012345670001, 081234567890"')
    assert isinstance(raw, str) and "3273012345670001" not in raw and "081234567890" not in raw
