"""Routing's pure domain: choosing the agency, the case lifecycle, working-day deadlines, the
deadline alerts the scheduler fires and the rules of the agency's case file (what is kept,
whose contact is shown, the chronology, the signed links to the documents). No I/O here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel

from schemas import document_links
from schemas.events.base import Reporter
from schemas.events.intake import ComplaintReceivedPayload
from schemas.events.routing import CaseStatus, DeadlineKind
from schemas.personal_data import ERASED, is_sealed, personal_field_names
from schemas.staff import AGENCY_ROLES, Role, StaffMember

JAKARTA = ZoneInfo("Asia/Jakarta")
MANUAL_DISPOSITION = "SETWAPRES"
MANUAL_RULE_ID = "fallback-manual-disposition"  # no rule matched
MANUAL_RULE = "manual-disposition"  # Setwapres picked the agency by hand
ANALYSIS_WORKING_DAYS = 14  # Setwapres' service standard: analyse and forward
AGENCY_RESPONSE_WORKING_DAYS = 5  # SP4N-LAPOR!: the agency formulates its follow-up
DOCUMENTS_CALENDAR_DAYS = 10  # missing documents may follow within 10 days
APPROACHING_WORKING_DAYS = 2  # warn this many working days before a deadline
SETWAPRES_ESCALATION_WORKING_DAYS = 3  # overdue this long past the supervisor: to Setwapres
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    rule_id: str
    category: str | None
    region_prefix: str | None
    agency_code: str | None  # None: the regional government of the complaint's region
    precedence: int = 100
    priority: str | None = None  # None: any priority; 'urgent' overrides for urgent ones
    version: int = 1


@dataclass(frozen=True)
class Assignment:
    agency_code: str
    rule_id: str
    rule_version: int = 1


def regional_agency_code(region_code: str) -> str:
    """Pemda code for a region: `PEMDA-31` (province) or `PEMDA-31.71` (regency/city)."""
    parts = region_code.split(".")
    return "PEMDA-" + ".".join(parts[:2])


def _specificity(rule: Rule) -> tuple[int, int, int, int]:
    return (
        -rule.precedence,
        1 if rule.priority is not None else 0,
        len(rule.region_prefix or ""),
        1 if rule.category is not None else 0,
    )


def _matches(rule: Rule, category: str, region_code: str | None, priority: str) -> bool:
    return (
        (rule.category is None or rule.category == category)
        and (rule.priority is None or rule.priority == priority)
        and (
            rule.region_prefix is None
            or (
                region_code is not None and (region_code + ".").startswith(rule.region_prefix + ".")
            )
        )
    )


def choose_agency(
    rules: Iterable[Rule],
    category: str,
    region_code: str | None,
    known_agencies: set[str],
    *,
    priority: str = "normal",
    excluded: frozenset[str] = frozenset(),
) -> Assignment:
    """The most specific matching rule wins; without one, Setwapres disposes by hand.

    Lower `precedence` numbers win first; then a priority-specific rule, a longer region
    prefix and a named category. A regional rule picks the regency's government, else the
    province's. Agencies in `excluded` (those that declared a case not in their remit) are
    skipped, so re-routing moves on to the next candidate.
    """
    candidates = [rule for rule in rules if _matches(rule, category, region_code, priority)]
    for rule in sorted(candidates, key=_specificity, reverse=True):
        if rule.agency_code is not None:
            if rule.agency_code in known_agencies and rule.agency_code not in excluded:
                return Assignment(rule.agency_code, rule.rule_id, rule.version)
            continue
        if region_code is None:
            continue
        regency = regional_agency_code(region_code)
        province = regional_agency_code(region_code.split(".")[0])
        for agency in dict.fromkeys((regency, province)):
            if agency in known_agencies and agency not in excluded:
                return Assignment(agency, rule.rule_id, rule.version)
    return Assignment(MANUAL_DISPOSITION, MANUAL_RULE_ID, 1)


# --------------------------------------------------------------------------- working days


@cache
def _indonesian_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("ID", years=year)


@dataclass(frozen=True)
class WorkingCalendar:
    """Indonesian working days: weekends and public holidays off, with overrides on top
    (collective leave days off, a declared working Saturday on)."""

    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5 and day not in _indonesian_holidays(day.year)

    def add_working_days(self, start: datetime, count: int) -> datetime:
        """End of the Nth working day after `start` (Asia/Jakarta), as an aware datetime."""
        day = _count_working_days(self, start.astimezone(JAKARTA).date(), count)
        return datetime.combine(day, time(23, 59, 59), tzinfo=JAKARTA)

    def working_days_before(self, moment: datetime, count: int) -> datetime:
        """Start (00:00 Jakarta) of the working day `count` working days before `moment`'s."""
        day = _count_working_days(self, moment.astimezone(JAKARTA).date(), -count)
        return datetime.combine(day, time(0, 0), tzinfo=JAKARTA)


# Every complaint of a day asks the same two questions (a batch of them, all of them), and
# walking the calendar day by day was most of the CPU of opening a case: remember answers.
@lru_cache(maxsize=8192)
def _count_working_days(calendar: WorkingCalendar, day: date, count: int) -> date:
    """The |count|th working day after `day` (before it, for a negative count)."""
    step = timedelta(days=1 if count > 0 else -1)
    remaining = abs(count)
    while remaining > 0:
        day += step
        if calendar.is_working_day(day):
            remaining -= 1
    return day


DEFAULT_CALENDAR = WorkingCalendar()


def is_working_day(day: date, extra_days_off: frozenset[date] = frozenset()) -> bool:
    return WorkingCalendar(days_off=extra_days_off).is_working_day(day)


def add_working_days(
    start: datetime, working_days: int, extra_days_off: frozenset[date] = frozenset()
) -> datetime:
    return WorkingCalendar(days_off=extra_days_off).add_working_days(start, working_days)


def documents_due(requested_at: datetime) -> datetime:
    """Missing documents are due by the end of the 10th calendar day (Jakarta)."""
    day = requested_at.astimezone(JAKARTA).date() + timedelta(days=DOCUMENTS_CALENDAR_DAYS)
    return datetime.combine(day, time(23, 59, 59), tzinfo=JAKARTA)


# --------------------------------------------------------------------------- lifecycle


class Action(StrEnum):
    """What can happen to a case: the officers' desk actions, then the steps routing and the
    scheduler take themselves."""

    ACCEPT = "accept"
    REQUEST_DOCUMENTS = "request_documents"
    RESPOND = "respond"
    NOT_IN_REMIT = "not_in_remit"
    CLOSE = "close"
    REROUTE = "reroute"  # to the next agency after a not-in-remit
    DISPOSE = "dispose"  # Setwapres hands a case of its queue to an agency
    DOCUMENTS_NOT_RECEIVED = "documents_not_received"  # the documents deadline expired
    DOCUMENTS_RECEIVED = "documents_received"  # the citizen's addition ends the wait
    REOPEN = "reopen"  # the citizen refused the response (TIDAK PUAS): Setwapres looks again


S = CaseStatus
OPENING_STATUS = S.ASSIGNED
OPEN_STATUSES = frozenset(S) - {S.CLOSED}
TRANSITIONS: dict[Action, tuple[frozenset[CaseStatus], CaseStatus]] = {
    Action.ACCEPT: (frozenset({S.ASSIGNED, S.AWAITING_DOCUMENTS}), S.IN_PROGRESS),
    Action.REQUEST_DOCUMENTS: (frozenset({S.ASSIGNED, S.IN_PROGRESS}), S.AWAITING_DOCUMENTS),
    Action.RESPOND: (frozenset({S.IN_PROGRESS}), S.RESPONDED),
    Action.NOT_IN_REMIT: (frozenset({S.ASSIGNED, S.IN_PROGRESS}), S.NOT_IN_REMIT),
    # A re-opened case is closed by Setwapres (with a note for the citizen) after its
    # second look, or disposed to an agency again (DISPOSE).
    Action.CLOSE: (frozenset({S.RESPONDED, S.REOPENED}), S.CLOSED),
    Action.REROUTE: (frozenset({S.NOT_IN_REMIT}), S.ASSIGNED),
    # Whatever its status: the manual queue is Setwapres' own to hand out.
    Action.DISPOSE: (frozenset(S), S.ASSIGNED),
    # A documents deadline still open closes the case, even one re-routed meanwhile.
    Action.DOCUMENTS_NOT_RECEIVED: (OPEN_STATUSES, S.CLOSED),
    # The citizen added to the report while the agency waited for documents: work resumes.
    Action.DOCUMENTS_RECEIVED: (frozenset({S.AWAITING_DOCUMENTS}), S.IN_PROGRESS),
    # The citizen answered TIDAK PUAS within the window: back to Setwapres' queue.
    Action.REOPEN: (frozenset({S.CLOSED}), S.REOPENED),
}
# The deadlines a step meets (REQUEST_DOCUMENTS sets a new one instead).
DEADLINES_MET: dict[Action, tuple[DeadlineKind, ...]] = {
    Action.ACCEPT: (DeadlineKind.DOCUMENTS,),
    Action.DOCUMENTS_RECEIVED: (DeadlineKind.DOCUMENTS,),
    Action.RESPOND: (DeadlineKind.AGENCY_RESPONSE, DeadlineKind.ANALYSIS),
    Action.NOT_IN_REMIT: (DeadlineKind.AGENCY_RESPONSE,),
    Action.CLOSE: tuple(DeadlineKind),
    Action.DOCUMENTS_NOT_RECEIVED: tuple(DeadlineKind),
}


class CaseNotFound(Exception):
    """No such case, or not one the caller may see (the two are indistinguishable)."""


class SecretReport(Exception):
    """A step that would show a secret report to the public (its public summary)."""


class UnknownAgency(ValueError):
    """An agency code that is not in the directory (or not one a case may go to)."""


class TransitionNotAllowed(Exception):
    def __init__(self, action: Action, current: CaseStatus, why: str | None = None) -> None:
        super().__init__(why or f"cannot {action.value} a case that is {current.value}")
        self.action = action
        self.current = current


def next_status(current: CaseStatus, action: Action) -> CaseStatus:
    allowed_from, target = TRANSITIONS[action]
    if current not in allowed_from:
        raise TransitionNotAllowed(action, current)
    return target


def resumes_on_addition(current: CaseStatus) -> bool:
    """Whether a citizen's addition moves the case on: only a wait for documents ends; in any
    other status the addition joins the case file and the status stays."""
    return current in TRANSITIONS[Action.DOCUMENTS_RECEIVED][0]


def check_desk_action(
    action: Action, current: CaseStatus, agency_code: str, note: str | None = None
) -> CaseStatus:
    """The status an officer's action leads to; Setwapres' own queue is never "not in
    remit": Setwapres disposes instead. Closing a re-opened case needs a note: the citizen
    refused the first response and reads why the second look closes it."""
    target = next_status(current, action)
    if action is Action.NOT_IN_REMIT and agency_code == MANUAL_DISPOSITION:
        raise TransitionNotAllowed(action, current)
    if action is Action.CLOSE and current is S.REOPENED and not (note and note.strip()):
        raise TransitionNotAllowed(
            action, current, "closing a re-opened case needs a note for the citizen"
        )
    return target


# --------------------------------------------------------------------------- satisfaction

SATISFACTION_WINDOW = timedelta(days=10)  # a refusal re-opens within 10 days of closing


def reopens_on_answer(
    *,
    satisfied: bool,
    current: CaseStatus,
    closed_at: datetime | None,
    rated_at: datetime,
    reopened_before: bool,
) -> bool:
    """Whether a citizen's answer re-opens the case: TIDAK PUAS, the case still closed, the
    answer within 10 days of that closing, and no second look yet (a case re-opens once:
    after Setwapres' own second look, a later refusal is recorded and counted, no more)."""
    if satisfied or current is not S.CLOSED or closed_at is None or reopened_before:
        return False
    return rated_at <= closed_at + SATISFACTION_WINDOW


# --------------------------------------------------------------------------- deadline alerts


class Alert(StrEnum):
    APPROACHING = "approaching"
    OVERDUE_SUPERVISOR = "overdue-1"
    OVERDUE_SETWAPRES = "overdue-2"
    DOCUMENTS_EXPIRED = "expired"


@dataclass(frozen=True)
class OpenDeadline:
    kind: DeadlineKind
    due_at: datetime
    fired: frozenset[Alert] = field(default_factory=frozenset)


def alerts_due(
    deadline: OpenDeadline, now: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> list[Alert]:
    """Alerts this deadline has reached by `now` and not yet fired, in order.

    Agency and analysis deadlines warn two working days ahead, escalate to the agency's
    supervisor once overdue, then to Setwapres three working days later. Documents expire.
    """
    reached: list[Alert] = []
    if now >= calendar.working_days_before(deadline.due_at, APPROACHING_WORKING_DAYS):
        reached.append(Alert.APPROACHING)
    if now > deadline.due_at:
        if deadline.kind is DeadlineKind.DOCUMENTS:
            reached.append(Alert.DOCUMENTS_EXPIRED)
        else:
            reached.append(Alert.OVERDUE_SUPERVISOR)
            later = calendar.add_working_days(deadline.due_at, SETWAPRES_ESCALATION_WORKING_DAYS)
            if now > later:
                reached.append(Alert.OVERDUE_SETWAPRES)
    return [alert for alert in reached if alert not in deadline.fired]


# The order a deadline's alerts are reached in (each one's moment is later than the last's).
ALERT_SEQUENCE: dict[DeadlineKind, tuple[Alert, ...]] = {
    DeadlineKind.ANALYSIS: (Alert.APPROACHING, Alert.OVERDUE_SUPERVISOR, Alert.OVERDUE_SETWAPRES),
    DeadlineKind.AGENCY_RESPONSE: (
        Alert.APPROACHING,
        Alert.OVERDUE_SUPERVISOR,
        Alert.OVERDUE_SETWAPRES,
    ),
    DeadlineKind.DOCUMENTS: (Alert.APPROACHING, Alert.DOCUMENTS_EXPIRED),
}


def next_alert(kind: DeadlineKind, fired: Iterable[Alert]) -> Alert | None:
    """The first alert of the deadline's sequence not fired yet (the earliest that can come
    due); None once the last has fired and the deadline has nothing left to say."""
    done = set(fired)
    return next((alert for alert in ALERT_SEQUENCE[kind] if alert not in done), None)


@dataclass(frozen=True)
class AlertWindow:
    """For each next alert, the bound on `due_at` below which `alerts_due` has reached it by
    `now`. Each alert's moment grows with the due date, so the deadlines to visit are exactly
    those due before the bound of their next alert: an index range each, calendar included."""

    approaching: datetime
    overdue: datetime
    setwapres: datetime

    def bound(self, alert: Alert) -> datetime:
        if alert is Alert.APPROACHING:
            return self.approaching
        if alert is Alert.OVERDUE_SETWAPRES:
            return self.setwapres
        return self.overdue  # overdue-1 and expired: as soon as the due time has passed


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=JAKARTA)


def alert_window(now: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> AlertWindow:
    """The bounds for `now`. Both calendar rules depend only on the due date (Jakarta), so
    each bound is the start of the day after the last due date whose alert is reached."""
    # Approaching: reached for today's due dates; walk forward while the next day's is too.
    day = now.astimezone(JAKARTA).date()
    while now >= calendar.working_days_before(_start_of(day + ONE_DAY), APPROACHING_WORKING_DAYS):
        day += ONE_DAY
    approaching = _start_of(day + ONE_DAY)
    # To Setwapres: not reached for today's due dates; walk back to the last day it is.
    day = now.astimezone(JAKARTA).date()
    while not now > calendar.add_working_days(_start_of(day), SETWAPRES_ESCALATION_WORKING_DAYS):
        day -= ONE_DAY
    return AlertWindow(approaching=approaching, overdue=now, setwapres=_start_of(day + ONE_DAY))


# --------------------------------------------------------------------------- escalation


@dataclass(frozen=True)
class EscalationContacts:
    """Routing's settings for escalations: the public base URL of case links and Setwapres'
    escalation address (None: level 2 emails nobody)."""

    public_base_url: str | None = None
    setwapres_email: str | None = None


@dataclass(frozen=True)
class Escalation:
    """Who an overdue alert escalates to: the level, a name, an address (None: nobody to
    email) and the case's link."""

    level: int
    to: str
    email: str | None
    case_url: str | None


NO_CONTACTS = EscalationContacts()  # no links, no Setwapres address
SETWAPRES_NAME = "Sekretariat Wakil Presiden"
CASE_PATH = "/v1/desk/cases/{case_id}"  # the case on the agency desk


def case_url(base_url: str | None, case_id: uuid.UUID) -> str | None:
    if not base_url:
        return None
    return base_url.rstrip("/") + CASE_PATH.format(case_id=case_id)


def escalation_for(
    alert: Alert,
    agency_name: str,
    supervisor: str | None,
    supervisor_email: str | None,
    contacts: EscalationContacts,
    case_id: uuid.UUID,
) -> Escalation | None:
    """Level 1 (overdue) goes to the agency's supervisor, level 2 (three working days later)
    to Setwapres; other alerts escalate to nobody."""
    link = case_url(contacts.public_base_url, case_id)
    if alert is Alert.OVERDUE_SUPERVISOR:
        return Escalation(1, supervisor or f"Pimpinan {agency_name}", supervisor_email, link)
    if alert is Alert.OVERDUE_SETWAPRES:
        return Escalation(2, SETWAPRES_NAME, contacts.setwapres_email, link)
    return None


# --------------------------------------------------------------------------- the case file

# What the desk shows of each kind of content, as dotted paths into the event payloads; the
# schema decides which of them are personal data (and so are sealed and recorded when shown).
CONTACT_PATHS = ("reporter.name", "reporter.phone", "reporter.email")
COMPLAINT_PATHS = ("description", "attachments.filename")
INCIDENT_PATHS = ("location.address",)
ADDITION_PATHS = ("additional_text", "attachments.filename")


def without_identity(payload: ComplaintReceivedPayload) -> ComplaintReceivedPayload:
    """What routing keeps of a complaint: the payload as it came (sealed), except that an
    anonymous report keeps no identity at all (no name, NIK, phone or email)."""
    if not payload.anonymous:
        return payload
    nobody = Reporter(name="", language=payload.reporter.language)
    return payload.model_copy(update={"reporter": nobody})


def contact_paths(anonymous: bool, secret: bool) -> tuple[str, ...]:
    """What of the reporter the agency sees. Anonymous: nothing, the agency never learns who
    reported. Secret: who reported (the name), but no way to reach them outside the desk's
    own channels (no phone, no email); the public sees only the status. Otherwise: all."""
    if anonymous:
        return ()
    return CONTACT_PATHS[:1] if secret else CONTACT_PATHS


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None
    email: str | None


def contact_of(opened: ComplaintReceivedPayload) -> Contact | None:
    """The reporter's contact as the agency may see it (`contact_paths`); None for an
    anonymous report."""
    shown = contact_paths(opened.anonymous, opened.secret)
    if not shown:
        return None
    reporter = opened.reporter
    return Contact(
        reporter.name,
        reporter.phone if "reporter.phone" in shown else None,
        reporter.email if "reporter.email" in shown else None,
    )


def _values_at(value: object, path: list[str]) -> list[tuple[BaseModel, str, object]]:
    """(owner model, field name, value) for a dotted path, through tuples and lists."""
    if isinstance(value, tuple | list):
        return [found for item in value for found in _values_at(item, path)]
    if not isinstance(value, BaseModel) or not path:
        return []
    item = getattr(value, path[0], None)
    if len(path) == 1:
        return [(value, path[0], item)]
    return _values_at(item, path[1:])


def _in_the_clear(value: str) -> bool:
    return bool(value) and value != ERASED and not is_sealed(value)


def personal_fields_shown(model: BaseModel, paths: Iterable[str]) -> list[str]:
    """Which of `paths` (into an opened payload) put personal data on the page in the clear:
    fields the schema marks personal whose value is present and readable."""
    shown = []
    for path in paths:
        for owner, name, item in _values_at(model, path.split(".")):
            personal = name in personal_field_names(type(owner))
            if personal and isinstance(item, str) and _in_the_clear(item):
                shown.append(path)
                break
    return shown


class Entry(StrEnum):
    FILED = "filed"  # a reporter's complaint, in their words
    STATUS = "status"  # the case's history: assignment, the desk's steps, re-routing
    ADDITION = "addition"  # what a reporter added later


@dataclass(frozen=True)
class ChronologyEntry:
    at: datetime
    kind: Entry
    actor: str
    text: str | None
    status: str | None = None
    tracking_code: str | None = None


_ENTRY_ORDER = {Entry.FILED: 0, Entry.STATUS: 1, Entry.ADDITION: 2}


def chronology(entries: Iterable[ChronologyEntry]) -> list[ChronologyEntry]:
    """The case's story in time order. At one instant a filing comes before a status change
    (a case opens on its complaint) and that before an addition; otherwise as given."""
    return sorted(entries, key=lambda entry: (entry.at, _ENTRY_ORDER[entry.kind]))


# --------------------------------------------------------------------------- document links


@dataclass(frozen=True)
class DocumentLinks:
    """How the case file links an officer to a document intake keeps: intake's public
    address, the shared secret (LAPOR_DOCUMENT_LINK_SECRET) and how long a link lives."""

    intake_url: str
    secret: str
    lifetime: timedelta = timedelta(seconds=document_links.DEFAULT_LIFETIME_SECONDS)


@dataclass(frozen=True)
class DocumentLink:
    url: str
    expires_at: datetime


def document_audience(agency_code: str, officer_id: str) -> str:
    """Whom a link is issued for, as intake logs and counts it: `routing:<agency>:<officer>`."""
    return f"routing:{agency_code}:{officer_id}"


def document_link(
    links: DocumentLinks,
    complaint_id: uuid.UUID,
    attachment_id: str,
    audience: str,
    now: datetime,
) -> DocumentLink:
    """A short-lived signed link to intake's document endpoint. `now` is the wall clock:
    intake checks the expiry against its own, never against a frozen case clock."""
    expires_at = now + links.lifetime
    path = document_links.link(complaint_id, attachment_id, expires_at, audience, links.secret)
    return DocumentLink(links.intake_url.rstrip("/") + path, expires_at)


def document_field(tracking_code: str, attachment_id: str) -> str:
    """How an issued document link is named in `case_file_openings` (never its content)."""
    return f"{tracking_code}:documents.{attachment_id}"


# --------------------------------------------------------------------------- who may do what


class Grant(StrEnum):
    """What a caller of routing's API may do, whether it came with an officer's token or the
    back office's staff assertion (`schemas.staff`)."""

    DESK = "desk"  # its agency's inbox, case files and the desk's actions
    SUPERVISE = "supervise"  # its agency's overdue cases; reassign a case to an officer
    DISPOSE = "dispose"  # manual disposition, overdue and re-opened cases of every agency,
    # any agency's case file, SP4N-LAPOR! forwarding state
    ADMINISTER = "administer"  # routing rules, the calendar, the agencies' escalation contacts


@dataclass(frozen=True)
class Access:
    """Whose desk a caller works at (the agency its case scope is bound to) and its grants."""

    agency_code: str
    grants: frozenset[Grant]


def token_access(agency_code: str, role: str) -> Access:
    """An officer's token (`lapor routing add-officer`): its agency's desk; Setwapres' own
    administrators also dispose and administer (another agency's admin does not)."""
    grants = {Grant.DESK}
    if role == "admin" and agency_code == MANUAL_DISPOSITION:
        grants |= {Grant.DISPOSE, Grant.ADMINISTER}
    return Access(agency_code, frozenset(grants))


def staff_access(member: StaffMember) -> Access:
    """A staff member the back office vouches for: agency officers and supervisors work at
    their agency's desk (supervisors also supervise it); disposition staff work at
    Setwapres' desk (the manual queue) and dispose; admins administer. Agency roles without
    an agency grant nothing; reviewers and desk officers get nothing here."""
    bound = member.agency_code if member.has(*AGENCY_ROLES) and member.agency_code else None
    grants: set[Grant] = set()
    if bound is not None:
        grants.add(Grant.DESK)
        if member.has(Role.AGENCY_SUPERVISOR):
            grants.add(Grant.SUPERVISE)
    if member.has(Role.DISPOSITION):
        grants |= {Grant.DESK, Grant.DISPOSE}
    if member.has(Role.ADMIN):
        grants.add(Grant.ADMINISTER)
    return Access(bound or MANUAL_DISPOSITION, frozenset(grants))


# The statuses in which an agency still works on a case, so its supervisor may hand it to
# another officer (a closed or re-opened case is no longer the agency's work).
REASSIGNABLE = frozenset({S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_DOCUMENTS, S.RESPONDED})


class NotReassignable(Exception):
    """The case is not one its agency works on any more."""


def check_reassignable(status: CaseStatus) -> None:
    """Raises NotReassignable unless the agency still works on a case in `status`."""
    if status not in REASSIGNABLE:
        raise NotReassignable(f"cannot reassign a case that is {status.value}")
