"""Duplicate detection and per-reporter limits, pure: the state is passed in as key-value stores.

In the faust app the stores are faust tables (backed by changelog topics); in unit tests and
benchmarks they are plain dicts. Every lookup touches a bounded number of keys, so the cost
per event does not grow with history:

- exact repeats: one key per (reporter, normalised text);
- near duplicates: the candidates of one region and category in the current and the previous
  time bucket, at most `MAX_CANDIDATES_PER_BUCKET` each, compared with rapidfuzz;
- rate limits: one key per (reporter, day).

Reporters are identified by a keyed hash (HMAC-SHA256) of their NIK, else phone, else email:
raw NIKs and phone numbers never become table keys or changelog records. Nor do the citizen's
words: an exact repeat is found by a hash of the sealed chronology (sealing is deterministic
per reporter, so the same reporter's same text seals to the same string, and once the reporter
is erased nobody can compute it again), and a near-duplicate candidate's signature is kept
sealed with its reporter's key (`seal` / `reveal`, see `domain.sealing`): an erased
reporter's candidate cannot be read nor matched any more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
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
_STOP_WORDS = frozenset(StopWordRemoverFactory().get_stop_words()) | frozenset(
    "saya kami kita sudah sejak tetapi tapi padahal sampai juga setiap tiap ada akan".split()
)

Store = MutableMapping[str, str]


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
    return " ".join(word for word in stems(text) if word not in _STOP_WORDS)[:600]


def similarity(first: str, second: str) -> float:
    return float(fuzz.token_set_ratio(first, second))


def _day(moment: datetime) -> int:
    return int(moment.timestamp()) // _DAY


@dataclass(frozen=True)
class Original:
    complaint_id: str
    tracking_code: str
    received_day: int
    similarity: float = 100.0
    kind: str = "exact"


# ----------------------------------------------------------------------------- reporter


@dataclass(frozen=True)
class ReporterFindings:
    reporter: str
    repeat_of: Original | None
    complaints_today: int
    banned: bool

    def to_json(self) -> dict[str, object]:
        original = self.repeat_of
        return {
            "reporter": self.reporter,
            "repeat_of": None if original is None else original.__dict__,
            "complaints_today": self.complaints_today,
            "banned": self.banned,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ReporterFindings:
        original = data.get("repeat_of")
        return cls(
            reporter=str(data["reporter"]),
            repeat_of=Original(**original) if isinstance(original, dict) else None,
            complaints_today=int(data["complaints_today"]),  # type: ignore[call-overload]
            banned=bool(data["banned"]),
        )


def check_reporter(
    *,
    reporter: str,
    complaint_id: str,
    tracking_code: str,
    text: str,
    received_at: datetime,
    repeats: Store,
    daily: Store,
    banned: Store,
) -> ReporterFindings:
    """Exact repeats and the daily count of one reporter; replays of one complaint count once."""
    day = _day(received_at)
    repeat_key = f"{reporter}|{text_fingerprint(text)}"
    repeat_of = None
    stored = repeats.get(repeat_key)
    first = json.loads(stored) if stored else None
    if (
        first is not None
        and first["complaint_id"] != complaint_id
        and 0 <= day - first["received_day"] <= EXACT_REPEAT_DAYS
    ):
        repeat_of = Original(**first)
    elif first is None or first["complaint_id"] != complaint_id:
        repeats[repeat_key] = json.dumps(
            Original(complaint_id, tracking_code, day).__dict__, separators=(",", ":")
        )

    day_key = f"{reporter}|{day}"
    seen: list[str] = json.loads(daily.get(day_key) or "[]")
    if complaint_id not in seen:
        seen.append(complaint_id)
        daily[day_key] = json.dumps(seen)
        stale = f"{reporter}|{day - 2}"
        if stale in daily:
            del daily[stale]
    return ReporterFindings(
        reporter=reporter,
        repeat_of=repeat_of,
        complaints_today=seen.index(complaint_id) + 1,
        banned=reporter in banned,
    )


# ----------------------------------------------------------------------------- area


def area_key(region_code: str | None, category: str) -> str:
    return f"{(region_code or 'xx.xx')[:5]}|{category}"


def _buckets(area: str, day: int) -> tuple[str, str]:
    bucket = day // DUPLICATE_WINDOW_DAYS
    return f"{area}|{bucket}", f"{area}|{bucket - 1}"


def _readable_candidates(
    area: str,
    complaint_id: str,
    received_at: datetime,
    candidates: Store,
    reveal: Callable[[str], str | None],
) -> list[tuple[list[Any], str]]:
    """The area's candidates of the window (not `complaint_id` itself) with their signatures
    opened by `reveal`; an erased reporter's (None) are skipped."""
    day = _day(received_at)
    entries = [
        entry
        for bucket in _buckets(area, day)
        for entry in json.loads(candidates.get(bucket) or "[]")
        if entry[0] != complaint_id and 0 <= day - entry[2] <= DUPLICATE_WINDOW_DAYS
    ]
    signatures = [(entry, reveal(entry[3])) for entry in entries]
    return [(entry, mine) for entry, mine in signatures if mine is not None]


def find_near_duplicate(
    *,
    area: str,
    complaint_id: str,
    text: str,
    received_at: datetime,
    candidates: Store,
    reveal: Callable[[str], str | None] = _same,
) -> Original | None:
    """The most similar earlier complaint of the same area and window, if similar enough.
    `reveal` opens a stored signature (None: its reporter was erased, so it is skipped)."""
    readable = _readable_candidates(area, complaint_id, received_at, candidates, reveal)
    if not readable:
        return None
    entries = [entry for entry, _ in readable]
    best = process.extractOne(
        signature(text),
        [mine for _, mine in readable],
        scorer=fuzz.token_set_ratio,
        score_cutoff=NEAR_DUPLICATE_THRESHOLD,
    )
    if best is None:
        return None
    _, score, index = best
    their_id, their_code, their_day, _ = entries[index]
    return Original(their_id, their_code, their_day, float(score), "near")


def resembling(
    *,
    area: str,
    complaint_id: str,
    text: str,
    received_at: datetime,
    candidates: Store,
    reveal: Callable[[str], str | None] = _same,
    limit: int = SHOWN_RESEMBLING,
) -> list[dict[str, Any]]:
    """The earlier complaints of the area that a reviewer should read next to this one: the
    most similar first, at or above `RESEMBLING_THRESHOLD`, each with its signature as the
    table keeps it (sealed with its own reporter's key: the review API opens it)."""
    readable = _readable_candidates(area, complaint_id, received_at, candidates, reveal)
    found = process.extract(
        signature(text),
        [mine for _, mine in readable],
        scorer=fuzz.token_set_ratio,
        score_cutoff=RESEMBLING_THRESHOLD,
        limit=limit,
    )
    return [
        {
            "complaint_id": readable[index][0][0],
            "tracking_code": readable[index][0][1],
            "similarity": round(float(score) / 100.0, 3),
            "signature": readable[index][0][3],
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
    candidates: Store,
    seal: Callable[[str], str | None] = _same,
) -> None:
    """Keep an accepted complaint as a candidate original (the most recent ones per bucket),
    its signature sealed by `seal` (None: the reporter was erased, nothing to keep)."""
    day = _day(received_at)
    bucket, _ = _buckets(area, day)
    entries = json.loads(candidates.get(bucket) or "[]")
    if any(entry[0] == complaint_id for entry in entries):
        return
    sealed = seal(signature(text))
    if sealed is None:
        return
    entries.append([complaint_id, tracking_code, day, sealed])
    candidates[bucket] = json.dumps(entries[-MAX_CANDIDATES_PER_BUCKET:], separators=(",", ":"))


def candidate_key_ids(area: str, received_at: datetime, candidates: Store) -> set[str]:
    """The data keys that sealed the signatures `find_near_duplicate` would compare."""
    day = _day(received_at)
    return {
        key_id
        for bucket in _buckets(area, day)
        for entry in json.loads(candidates.get(bucket) or "[]")
        if (key_id := sealed_key_id(entry[3])) is not None
    }
