"""What the chaos run files, and what triage must make of it.

Most complaints are distinct (`distinct_complaint`): made-up place and people names, so no two
are near duplicates. A share, planned by index (`plan_kinds`), exercise triage's state while
its instances are killed, each filed through the web API:
- `repeat`: the same reporter files the same text twice → one case, the other an exact
  duplicate joined to it;
- `near`: three reporters of one area describe one problem (the original words, plus a
  sentence) → one case, two near duplicates joined to it;
- `prank`: a prank text → rejected;
- `burst`: one reporter files seven distinct complaints → five a day go on, the rest wait
  for a reviewer (triage's daily limit, counted per UTC day as triage counts it).
`check_kinds` reads the outcome from intake's statuses and routing's cases and joined
reporters, so it holds whatever store triage keeps its state in.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

REGIONS = ("31.71", "32.73", "33.74", "35.78", "34.71", "51.71", "73.71", "12.71", "16.71")
SYLLABLES = tuple(consonant + vowel for consonant in "bdgjklmnprstw" for vowel in "aiueo")
SUBJECTS = (
    "Sertifikat tanah kami belum terbit di",
    "Ijazah anak saya ditahan sekolah di",
    "Jalan rusak berlubang besar di",
    "Bantuan sosial PKH keluarga kami berhenti di",
    "Puskesmas menolak melayani pasien BPJS di",
)
PRANK = "wkwk cuma iseng min, lagi gabut nih minta pulsa dong hahaha"
PARAPHRASE = "Mohon segera ditindaklanjuti oleh instansi terkait, terima kasih."
# Triage's daily limit per reporter (services/triage: more than this a day goes to review).
DAILY_LIMIT = 5
BURST = 7
# Positions in every cycle of 25 indices: (kind, members). The rest are distinct complaints.
CYCLE = 25
LAYOUT = (("repeat", 3, 2), ("near", 8, 3), ("prank", 13, 1), ("burst", 15, BURST))


@dataclass(frozen=True)
class Planned:
    kind: str
    group: int  # the index of the group's first member
    role: int  # 0 for the first member (the original of a repeat or near group)


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def reporter(index: int, region: str, rng: random.Random) -> dict[str, str]:
    """A reporter of its own: the NIK's serial and the phone come from the index."""
    day = rng.randint(1, 28) + (40 if index % 2 else 0)
    birth = f"{day:02d}{rng.randint(1, 12):02d}{rng.randint(60, 99):02d}"
    nik = f"{region.replace('.', '')}{rng.randint(1, 9):02d}{birth}{index % 9999 + 1:04d}"
    return {"name": f"Warga Uji {index}", "nik": nik, "phone": f"0813{index:08d}"}


def distinct_complaint(index: int, rng: random.Random) -> dict[str, Any]:
    """A distinct complaint: the places and people in it are made-up words, so two complaints
    share only the short opening and are not near duplicates of each other."""
    region = REGIONS[index % len(REGIONS)]
    places = " ".join(_name(rng) for _ in range(16))
    month = rng.choice(["Januari", "Maret", "Juni", "Oktober"])
    story = f"kampung {places}, belum ditangani sejak {rng.randint(1, 28)} {month}."
    return {
        **reporter(index, region, rng),
        "region_code": region,
        "description": f"{rng.choice(SUBJECTS)} {story}",
    }


def plan_kinds(complaints: int) -> dict[int, Planned]:
    """The indices that exercise triage's state, by kind; whole groups only."""
    plan: dict[int, Planned] = {}
    for start in range(0, complaints - CYCLE + 1, CYCLE):
        for kind, offset, members in LAYOUT:
            group = start + offset
            for role in range(members):
                plan[group + role] = Planned(kind, group, role)
    return plan


def planned_complaint(index: int, planned: Planned, seed: int) -> dict[str, Any]:
    """The body of a planned complaint; a group's members derive from the group's seed, so
    each is built alike whenever and in whatever order it is driven."""
    group_rng = random.Random(seed * 1_000_003 + planned.group)
    first = distinct_complaint(planned.group, group_rng)
    if planned.kind == "repeat":
        return first
    if planned.kind == "near":
        if planned.role == 0:
            return first
        others = reporter(index, first["region_code"], random.Random(seed + index))
        return {**first, **others, "description": f"{first['description']} {PARAPHRASE}"}
    if planned.kind == "prank":
        return {**first, "description": PRANK}
    own = distinct_complaint(index, random.Random(seed * 7 + index))
    return {**own, **reporter(planned.group, first["region_code"], group_rng)}


@dataclass(frozen=True)
class Filed:
    complaint_id: str
    status: str
    received_at: datetime
    case_id: str | None
    joined_to: str | None  # the original complaint routing joined it to, if a duplicate


async def _filed(conn: asyncpg.Connection, codes: Iterable[str]) -> dict[str, Filed]:
    rows = await conn.fetch(
        "SELECT c.tracking_code, c.complaint_id::text, c.status, c.received_at,"
        " k.case_id::text, r.original_complaint_id::text AS joined_to"
        " FROM intake.complaints c"
        " LEFT JOIN routing.cases k ON k.tracking_code = c.tracking_code"
        " LEFT JOIN routing.case_reporters r ON r.complaint_id = c.complaint_id"
        " WHERE c.tracking_code = ANY($1)",
        list(codes),
    )
    return {
        row["tracking_code"]: Filed(
            row["complaint_id"], row["status"], row["received_at"], row["case_id"], row["joined_to"]
        )
        for row in rows
    }


def _groups(plan: dict[int, Planned], codes: dict[int, str]) -> dict[tuple[str, int], list[str]]:
    groups: dict[tuple[str, int], list[str]] = defaultdict(list)
    for index, planned in sorted(plan.items()):
        if index in codes:
            groups[planned.kind, planned.group].append(codes[index])
    return groups


def _one_original(members: list[Filed]) -> bool:
    """One member has the group's only case; every other is a duplicate joined to it."""
    originals = [m for m in members if m.case_id is not None]
    if len(originals) != 1 or originals[0].status != "forwarded_to_agency":
        return False
    others = [m for m in members if m is not originals[0]]
    # A joined duplicate follows its original's case, so intake shows the case's status.
    return all(
        m.status in {"duplicate", "forwarded_to_agency"}
        and m.joined_to == originals[0].complaint_id
        for m in others
    )


def _burst_holds(members: list[Filed]) -> bool:
    """Up to the daily limit go on each day, the rest wait for review."""
    by_day = Counter(int(m.received_at.timestamp()) // 86_400 for m in members)
    forwarded = sum(m.status == "forwarded_to_agency" for m in members)
    held = sum(m.status == "under_review" for m in members)
    expected = sum(min(DAILY_LIMIT, n) for n in by_day.values())
    return forwarded == expected and held == len(members) - expected


async def check_kinds(
    conn: asyncpg.Connection,
    plan: dict[int, Planned],
    codes: dict[int, str],
    check: Callable[[str, Any, Any], None],
) -> None:
    """Each kind's groups, counted by the outcome triage must have given them."""
    filed = await _filed(conn, codes.values())
    groups = _groups(plan, codes)
    complete = {key: g for key, g in groups.items() if all(code in filed for code in g)}
    check("triage kinds: groups filed whole", len(groups), len(complete))
    verdicts = {
        "repeat": ("exact repeats: one case, the repeat joined to it", _one_original),
        "near": ("near duplicates: one case, the others joined to it", _one_original),
        "prank": ("pranks rejected", lambda ms: all(m.status == "rejected" for m in ms)),
        "burst": ("bursts: the daily limit on, the rest held for review", _burst_holds),
    }
    for kind, (name, holds) in verdicts.items():
        kind_groups = [g for (k, _), g in complete.items() if k == kind]
        check(name, len(kind_groups), sum(holds([filed[c] for c in g]) for g in kind_groups))
