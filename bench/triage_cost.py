"""Per-event triage cost with 10k and with 1M complaints of history.

Run: `.venv/bin/python bench/triage_cost.py` (add `--history 10000 50000` to choose sizes).

The stores are dicts, as faust's memory-backed tables are in the worker; the history is built
with the same functions the handlers use (`check_reporter`, `remember_candidate`), spread over
regencies, categories and the last 30 days. Then the same fresh complaints go through both stages
(`check_reporter_of` + `decide`) against each history, interleaved event by event so that
load from other processes hits every size alike, and the mean and median wall time per event
are printed.
The cost must not grow with history: the lookups touch a bounded number of keys.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.events import Channel, ComplaintReceived, ComplaintReceivedPayload, Location, Reporter
from services.triage.domain.duplicates import (
    area_key,
    check_reporter,
    remember_candidate,
    reporter_key,
)
from services.triage.domain.rules import classify
from services.triage.handlers.stages import check_reporter_of, decide

SECRET = b"bench-key"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "triage_labelled.jsonl"
REGIONS = [f"{p:02d}.{k:02d}" for p in (11, 12, 31, 32, 33, 34, 35, 51, 64, 73) for k in (1, 71)]


def base_texts() -> list[str]:
    records = [json.loads(line) for line in DATA.read_text().splitlines()]
    return [r["description"] for r in records if r["label"] == "genuine" and not r["duplicate_of"]]


def variant(rng: random.Random, texts: list[str], index: int) -> str:
    words = rng.choice(texts).split()
    rng.shuffle(words)
    return " ".join(words[:12]) + f" kejadian nomor {index} di RT {index % 40}"


def build_history(size: int, rng: random.Random, texts: list[str]) -> dict[str, dict[str, str]]:
    stores: dict[str, dict[str, str]] = {"repeats": {}, "daily": {}, "candidates": {}}
    categories = {text: classify(text)[0] for text in texts}
    for index in range(size):
        text = variant(rng, texts, index)
        base = texts[index % len(texts)]
        at = NOW - timedelta(minutes=rng.randrange(30 * 24 * 60))
        complaint_id = str(uuid.UUID(int=rng.getrandbits(128)))
        check_reporter(
            reporter=reporter_key(SECRET, f"32730115019{index:05d}", None, None),
            complaint_id=complaint_id,
            tracking_code=f"LPR-{index}",
            text=text,
            received_at=at,
            repeats=stores["repeats"],
            daily=stores["daily"],
            banned={},
        )
        remember_candidate(
            area=area_key(rng.choice(REGIONS), categories[base]),
            complaint_id=complaint_id,
            tracking_code=f"LPR-{index}",
            text=text,
            received_at=at,
            candidates=stores["candidates"],
        )
    return stores


def fresh(rng: random.Random, texts: list[str], count: int) -> list[ComplaintReceived]:
    events = []
    for index in range(count):
        complaint_id = uuid.UUID(int=rng.getrandbits(128))
        events.append(
            ComplaintReceived(
                complaint_id=complaint_id,
                correlation_id=complaint_id,
                producer="intake",
                payload=ComplaintReceivedPayload(
                    tracking_code=f"LPR-NEW-{index}",
                    channel=Channel.WEB,
                    reporter=Reporter(
                        name="Warga", nik=f"3273011501{index % 90 + 10:02d}{index:04d}"
                    ),
                    description=variant(rng, texts, 10_000_000 + index),
                    location=Location(region_code=rng.choice(REGIONS)),
                    received_at=NOW,
                ),
            )
        )
    return events


def resident_mb() -> float:
    """This process's resident memory: the stores are what a triage worker keeps in its
    memory-backed tables, so their growth is the worker's growth with that history."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--events", type=int, default=3_000)
    args = parser.parse_args()
    texts = base_texts()
    histories = {}
    for size in args.history:
        started = time.perf_counter()
        before = resident_mb()
        histories[size] = build_history(size, random.Random(size), texts)
        print(
            f"history {size:>9,}: built in {time.perf_counter() - started:6.1f}s,"
            f" {len(histories[size]['repeats']):,} repeat keys,"
            f" {len(histories[size]['candidates']):,} candidate buckets,"
            f" +{resident_mb() - before:,.0f} MB resident (process now {resident_mb():,.0f} MB)"
        )
    events = fresh(random.Random(7), texts, args.events)  # the same events for every size
    for event in events[:200]:  # warm the stemmer cache on the measured vocabulary
        decide(event)
    timings: dict[int, list[float]] = {size: [] for size in histories}
    decisions: dict[int, dict[str, str]] = {size: {} for size in histories}
    # Interleaved, event by event, so load from other processes hits every size alike.
    for event in events:
        for size, stores in histories.items():
            start = time.perf_counter()
            findings = check_reporter_of(event, SECRET, stores["repeats"], stores["daily"], {})
            decide(event, findings, stores["candidates"], decisions[size])
            timings[size].append(time.perf_counter() - start)
    for size, spent in timings.items():
        print(
            f"history {size:>9,}: per event mean {statistics.fmean(spent) * 1e6:6.0f} µs,"
            f" median {statistics.median(spent) * 1e6:6.0f} µs over {len(spent):,} events"
        )
    first, last = args.history[0], args.history[-1]
    change = statistics.median(timings[last]) / statistics.median(timings[first]) - 1
    print(f"median cost change from {first:,} to {last:,} of history: {change * 100:+.1f}%")


if __name__ == "__main__":
    main()
