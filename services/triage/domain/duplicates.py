"""Duplicate detection and per-reporter limits, pure: the state is a `History` loaded for a
batch of complaints (from PostgreSQL in the worker, see `adapters.state`; built up in memory in
unit tests and benchmarks), which every decision in the batch reads and extends, so a complaint
meets the earlier complaints of its own batch as it meets those of earlier batches.

What a complaint looks up is bounded, so the cost per event does not grow with history:

- exact repeats: one key per (reporter, fingerprint of the sealed text);
- near duplicates: the candidates of one region and category in the current and the previous
  time bucket, the latest `MAX_CANDIDATES_PER_BUCKET` of each, compared with rapidfuzz;
- rate limits: one key per (reporter, day).

`History.lookups` names those keys for a batch (the adapter loads exactly them); the new rows
a batch adds are kept apart (`added_*`), for the adapter to write in one statement per table.

Reporters are identified by a keyed hash (HMAC-SHA256) of their NIK, else phone, else email:
raw NIKs and phone numbers never become keys or stored values. Nor do the citizen's words: an
exact repeat is found by a hash of the sealed chronology (sealing is deterministic per
reporter, so the same reporter's same text seals to the same string, and once the reporter is
erased nobody can compute it again), and a near-duplicate candidate's signature is kept sealed
with its reporter's key (`seal` / `reveal`, see `domain.sealing`): an erased reporter's
candidate cannot be read nor matched any more.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process
from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

from schemas.personal_data import is_sealed, sealed_key_id
from services.triage.domain.rules import normalise, stems

# Same reporter, same normalised text within this many days: an exact repeat.
EXACT_REPEAT_DAYS = 30
# Near duplicates are looked for among complaints of the same regency and category received
# within this many days.
DUPLICATE_WINDOW_DAYS = 30
MAX_CANDIDATES_PER_BUCKET = 64
# rapidfuzz token_set_ratio (0-100) of the content stems at or above which two complaints are
# the same problem.
NEAR_DUPLICATE_THRESHOLD = 70.0
# Earlier complaints at least this similar are shown to a reviewer next to a queued one (at
# most `SHOWN_RESEMBLING`): lower than the threshold, since a human decides.
RESEMBLING_THRESHOLD = 50.0
SHOWN_RESEMBLING = 5
# Complaints per reporter per day above which the next ones go to human review.
DAILY_LIMIT_PER_REPORTER = 5

_DAY = 86_400
# The courtesy formulas letters to a desk end with ("Mohon segera ditindaklanjuti oleh
# instansi terkait, terima kasih"), as stems: they say nothing of the problem, and two
# different complaints of one area that both carry one scored 71 (over the threshold) in the
# 5,000-complaint chaos run.
_COURTESY = (
    "mohon segera ditindaklanjuti tindaklanjut tindak lanjut instansi kait terima kasih"
    " bapak pak bu hormat atas perhati lapor admin min"
)
_OTHER_STOP_WORDS = "saya kami kita sudah sejak tetapi tapi padahal sampai juga setiap tiap ada"
_STOP_WORDS = frozenset(StopWordRemoverFactory().get_stop_words()) | frozenset(
    f"{_OTHER_STOP_WORDS} akan {_COURTESY}".split()
)


def reporter_key(secret: bytes, nik: str | None, phone: str | None, email: str | None) -> str:
    """A keyed hash naming the reporter; the raw identifier never leaves this function."""
    if nik:
        identity = "nik:" + "".join(ch for ch in nik if ch.isdigit())
    elif phone:
        identity = "phone:" + "".join(ch for ch in phone if ch.isdigit())
    elif email:
        identity = "email:" + email.strip().lower()
    else:
        identity = "anonymous"
    return hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:32]


def reporter_key_of_data_key(secret: bytes, key_id: str) -> str:
    """The reporter named by their data key id (see docs/personal-data.md): one key per NIK,
    else phone, else email, as in `reporter_key`. Erasing the key leaves this name meaningless."""
    return hmac.new(secret, f"key:{key_id}".encode(), hashlib.sha256).hexdigest()[:32]


def text_fingerprint(text: str) -> str:
    """A sealed text as it is (deterministic per reporter); a plain one normalised."""
    return hashlib.sha256((text if is_sealed(text) else normalise(text)).encode()).hexdigest()[:32]


def _same(text: str) -> str:
    return text


def signature(text: str) -> str:
    """The content stems of a text, without stop words, in order (what near matching compares)."""
    return signature_of_stems(stems(text))


def signature_of_stems(stemmed: tuple[str, ...]) -> str:
    """`signature` of a text whose stems are known already (`rules.Assessment.stemmed`)."""
    return " ".join(word for word in stemmed if word not in _STOP_WORDS)[:600]


def similarity(first: str, second: str) -> float:
    return float(fuzz.token_set_ratio(first, second))


def day_of(moment: datetime) -> int:
    """Days since the epoch (UTC): the unit of the repeat window, the daily count, the buckets."""
    return int(moment.timestamp()) // _DAY


@dataclass(frozen=True)
class Original:
    complaint_id: str
    tracking_code: str
    received_day: int
    similarity: float = 100.0
    kind: str = "exact"


@dataclass(frozen=True)
class Candidate:
    """An accepted complaint a later one of its area may duplicate; `signature` sealed."""

    complaint_id: str
    tracking_code: str
    received_day: int
    signature: str


RepeatKey = tuple[str, str]  # (reporter, text fingerprint)
DayKey = tuple[str, int]  # (reporter, day)
BucketKey = tuple[str, int]  # (area, 30-day bucket)


@dataclass(frozen=True)
class Lookups:
    """The keys a batch of complaints reads: what the adapter loads, and nothing else."""

    repeats: frozenset[RepeatKey]
    days: frozenset[DayKey]
    reporters: frozenset[str]
    buckets: frozenset[BucketKey]


@dataclass
class History:
    """The state a batch reads (loaded for its keys) and the rows it adds (`added_*`).

    `repeats`: the first complaint of each (reporter, text) still remembered; `days`: each
    reporter's complaints of a day, in order; `banned`: banned reporters among the batch's;
    `candidates`: each bucket's latest candidates, oldest first."""

    repeats: dict[RepeatKey, Original] = field(default_factory=dict)
    days: dict[DayKey, list[str]] = field(default_factory=dict)
    banned: set[str] = field(default_factory=set)
    candidates: dict[BucketKey, list[Candidate]] = field(default_factory=dict)
    added_repeats: dict[RepeatKey, Original] = field(default_factory=dict)
    added_days: list[tuple[str, int, str, int]] = field(default_factory=list)
    added_candidates: list[tuple[str, int, Candidate]] = field(default_factory=list)

    def clear_added(self) -> None:
        """Forget the rows added so far (they were written)."""
        self.added_repeats.clear()
        self.added_days.clear()
        self.added_candidates.clear()


def lookups(
    reporters: Iterable[tuple[str, str, datetime]], areas: Iterable[tuple[str, datetime]]
) -> Lookups:
    """The keys for complaints given as (reporter, text as received, received at) and as
    (area, received at)."""
    reporter_list = list(reporters)
    return Lookups(
        repeats=frozenset((who, text_fingerprint(text)) for who, text, _ in reporter_list),
        days=frozenset((who, day_of(at)) for who, _, at in reporter_list),
        reporters=frozenset(who for who, _, _ in reporter_list),
        buckets=frozenset(bucket for area, at in areas for bucket in _buckets(area, day_of(at))),
    )


# ----------------------------------------------------------------------------- pruning

# A complaint received up to this many days before it is triaged (a backlog, a replay) still
# finds its state: pruning keeps that much more than the rules read for today's complaints.
PRUNE_GRACE_DAYS = 2


@dataclass(frozen=True)
class Expiry:
    """The oldest state any rule can still read, as day and bucket numbers: rows below are
    past their use (`adapters.state.prune` deletes them). Candidates beyond the latest
    `MAX_CANDIDATES_PER_BUCKET` of their bucket are past their use too."""

    repeat_day: int  # reporter_repeats.received_day below this: outside every repeat window
    day: int  # reporter_days.day below this: no daily count reads that day
    bucket: int  # area_candidates.bucket below this: no complaint reads that bucket
    candidate_day: int  # area_candidates.received_day below this: outside every window


def expiry(today: int, grace_days: int = PRUNE_GRACE_DAYS) -> Expiry:
    """What has expired on `today` (`day_of(now)`) for complaints received since
    `today - grace_days`, which read their own day, the repeat window before it, and their
    bucket and the one before within the duplicate window."""
    earliest = today - grace_days
    return Expiry(
        repeat_day=earliest - EXACT_REPEAT_DAYS,
        day=earliest,
        bucket=earliest // DUPLICATE_WINDOW_DAYS - 1,
        candidate_day=earliest - DUPLICATE_WINDOW_DAYS,
    )


# ----------------------------------------------------------------------------- reporter


@dataclass(frozen=True)
class ReporterFindings:
    reporter: str
    repeat_of: Original | None
    complaints_today: int
    banned: bool


def check_reporter(
    *,
    reporter: str,
    complaint_id: str,
    tracking_code: str,
    text: str,
    received_at: datetime,
    history: History,
) -> ReporterFindings:
    """Exact repeats and the daily count of one reporter; replays of one complaint count once."""
    day = day_of(received_at)
    repeat_key = (reporter, text_fingerprint(text))
    repeat_of = None
    first = history.repeats.get(repeat_key)
    if (
        first is not None
        and first.complaint_id != complaint_id
        and 0 <= day - first.received_day <= EXACT_REPEAT_DAYS
    ):
        repeat_of = first
    elif first is None or first.complaint_id != complaint_id:
        remembered = Original(complaint_id, tracking_code, day)
        history.repeats[repeat_key] = history.added_repeats[repeat_key] = remembered

    seen = history.days.setdefault((reporter, day), [])
    if complaint_id not in seen:
        seen.append(complaint_id)
        history.added_days.append((reporter, day, complaint_id, len(seen)))
    return ReporterFindings(
        reporter=reporter,
        repeat_of=repeat_of,
        complaints_today=seen.index(complaint_id) + 1,
        banned=reporter in history.banned,
    )


# ----------------------------------------------------------------------------- area


def area_key(region_code: str | None, category: str) -> str:
    return f"{(region_code or 'xx.xx')[:5]}|{category}"


def _buckets(area: str, day: int) -> tuple[BucketKey, BucketKey]:
    bucket = day // DUPLICATE_WINDOW_DAYS
    return (area, bucket), (area, bucket - 1)


def _readable_candidates(
    area: str,
    complaint_id: str,
    received_at: datetime,
    history: History,
    reveal: Callable[[str], str | None],
) -> list[tuple[Candidate, str]]:
    """The area's candidates of the window (not `complaint_id` itself) with their signatures
    opened by `reveal`; an erased reporter's (None) are skipped."""
    day = day_of(received_at)
    entries = [
        entry
        for bucket in _buckets(area, day)
        for entry in history.candidates.get(bucket, ())
        if entry.complaint_id != complaint_id
        and 0 <= day - entry.received_day <= DUPLICATE_WINDOW_DAYS
    ]
    signatures = [(entry, reveal(entry.signature)) for entry in entries]
    return [(entry, mine) for entry, mine in signatures if mine is not None]


def find_near_duplicate(
    *,
    area: str,
    complaint_id: str,
    text: str,
    received_at: datetime,
    history: History,
    reveal: Callable[[str], str | None] = _same,
    signed: str | None = None,
) -> Original | None:
    """The most similar earlier complaint of the same area and window, if similar enough.
    `reveal` opens a stored signature (None: its reporter was erased, so it is skipped);
    `signed`: `signature(text)` when the caller has it already."""
    readable = _readable_candidates(area, complaint_id, received_at, history, reveal)
    if not readable:
        return None
    best = process.extractOne(
        signature(text) if signed is None else signed,
        [mine for _, mine in readable],
        scorer=fuzz.token_set_ratio,
        score_cutoff=NEAR_DUPLICATE_THRESHOLD,
    )
    if best is None:
        return None
    _, score, index = best
    their = readable[index][0]
    return Original(
        their.complaint_id, their.tracking_code, their.received_day, float(score), "near"
    )


def resembling(
    *,
    area: str,
    complaint_id: str,
    text: str,
    received_at: datetime,
    history: History,
    reveal: Callable[[str], str | None] = _same,
    limit: int = SHOWN_RESEMBLING,
    signed: str | None = None,
) -> list[dict[str, Any]]:
    """The earlier complaints of the area that a reviewer should read next to this one: the
    most similar first, at or above `RESEMBLING_THRESHOLD`, each with its signature as the
    table keeps it (sealed with its own reporter's key: the review API opens it)."""
    readable = _readable_candidates(area, complaint_id, received_at, history, reveal)
    found = process.extract(
        signature(text) if signed is None else signed,
        [mine for _, mine in readable],
        scorer=fuzz.token_set_ratio,
        score_cutoff=RESEMBLING_THRESHOLD,
        limit=limit,
    )
    return [
        {
            "complaint_id": readable[index][0].complaint_id,
            "tracking_code": readable[index][0].tracking_code,
            "similarity": round(float(score) / 100.0, 3),
            "signature": readable[index][0].signature,
        }
        for _, score, index in found
    ]


def remember_candidate(
    *,
    area: str,
    complaint_id: str,
    tracking_code: str,
    text: str,
    received_at: datetime,
    history: History,
    seal: Callable[[str], str | None] = _same,
    signed: str | None = None,
) -> None:
    """Keep an accepted complaint as a candidate original (the latest ones per bucket count),
    its signature sealed by `seal` (None: the reporter was erased, nothing to keep)."""
    day = day_of(received_at)
    bucket, _ = _buckets(area, day)
    entries = history.candidates.setdefault(bucket, [])
    if any(entry.complaint_id == complaint_id for entry in entries):
        return
    sealed = seal(signature(text) if signed is None else signed)
    if sealed is None:
        return
    candidate = Candidate(complaint_id, tracking_code, day, sealed)
    entries.append(candidate)
    del entries[:-MAX_CANDIDATES_PER_BUCKET]
    history.added_candidates.append((*bucket, candidate))


def candidate_key_ids(area: str, received_at: datetime, history: History) -> set[str]:
    """The data keys that sealed the signatures `find_near_duplicate` would compare."""
    day = day_of(received_at)
    return {
        key_id
        for bucket in _buckets(area, day)
        for entry in history.candidates.get(bucket, ())
        if (key_id := sealed_key_id(entry.signature)) is not None
    }
