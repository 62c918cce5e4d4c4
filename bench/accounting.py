"""What a bench phase cost, and who paid: CPU per process group (from /proc) and Kafka
messages per topic (from the topics' end offsets and the consumer groups' committed offsets).

CPU: each group's user + system time from `/proc/<pid>/stat`, read before and after a phase.
Kafka is the broker process listening on the bootstrap port; PostgreSQL is the postmaster
listening on the database port with every backend it forked (live backends' own time, plus
the time of those that exited, which the postmaster reaps into its children's time); the
whole machine is `/proc/stat`. What the named groups do not explain is reported as `other`:
on a shared machine, someone else's work.

Messages: the phase's topics and groups are the ones under its fresh topic prefix (the
services' topics, their consumer groups, and faust's internal topics, which carry the
prefix in the app id), so the end offsets after the phase are what it produced and the
committed offsets what each group consumed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent on all cores outside idle and iowait since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def process_seconds(pid: int | str, *, reaped_children: bool = False) -> float:
    """User + system CPU of a process (all its threads); with `reaped_children`, also of the
    children it has waited for. 0 when it is gone."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def listening_pid(port: int) -> int | None:
    """The process holding a socket that listens on `port` (TCP, IPv4 or IPv6), if visible."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(entry.name)
        except (FileNotFoundError, PermissionError, ProcessLookupError, NotADirectoryError):
            continue
    return None


def port_of(address: str, default: int) -> int:
    """The port of a Kafka bootstrap (`host:port`) or a database URL."""
    if "://" not in address:
        address = "tcp://" + address.split(",")[0]
    return urlsplit(address).port or default


@dataclass
class CpuMeter:
    """CPU seconds by group, read at once; `groups` maps a name to a reader of its total."""

    groups: dict[str, Callable[[], float]] = field(default_factory=dict)

    def add_process(self, name: str, pid: int) -> None:
        self.groups[name] = lambda: process_seconds(pid)

    def add_postgres(self, postmaster: int) -> None:
        def postgres() -> float:
            own = process_seconds(postmaster, reaped_children=True)
            return own + sum(process_seconds(child) for child in children_of(postmaster))

        self.groups["postgresql"] = postgres

    def snapshot(self) -> dict[str, float]:
        taken = {name: read() for name, read in self.groups.items()}
        taken["whole_machine"] = machine_busy_seconds()
        return taken


def cpu_ms_per_unit(
    before: Mapping[str, float], after: Mapping[str, float], units: int
) -> dict[str, float]:
    """Milliseconds of CPU per unit (complaint, message) for each group, the whole machine,
    and `other`: the machine's time no group accounts for."""
    if not units:
        return {}
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    whole = spent.pop("whole_machine")
    per_unit = {name: round(seconds * 1000 / units, 3) for name, seconds in spent.items()}
    per_unit["other"] = round((whole - sum(spent.values())) * 1000 / units, 3)
    per_unit["whole_machine"] = round(whole * 1000 / units, 3)
    return per_unit


def infrastructure_meter(bootstrap: str, database_url: str | None) -> CpuMeter:
    """The meter with the broker, PostgreSQL (when given) and this process (the load
    generator); the caller adds the services and the stand-ins."""
    meter = CpuMeter()
    broker = listening_pid(port_of(bootstrap, 9092))
    if broker is not None:
        meter.add_process("kafka", broker)
    if database_url:
        postmaster = listening_pid(port_of(database_url, 5432))
        if postmaster is not None:
            meter.add_postgres(postmaster)
    meter.add_process("load_generator", os.getpid())
    return meter


# --------------------------------------------------------------------------- Kafka messages


@dataclass(frozen=True)
class Offsets:
    """End offsets per topic, and committed offsets per (consumer group, topic), summed over
    partitions."""

    produced: dict[str, int]
    consumed: dict[tuple[str, str], int]


async def kafka_offsets(bootstrap: str, prefix: str) -> Offsets:
    """The offsets of the topics and consumer groups whose names start with `prefix`."""
    from aiokafka import AIOKafkaConsumer

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-accounting")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-accounting")
    await admin.start()
    await consumer.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        produced: dict[str, int] = dict.fromkeys(topics, 0)
        if topics:
            partitions = [
                TopicPartition(described["topic"], partition["partition"])
                for described in await admin.describe_topics(topics)
                for partition in described["partitions"]
            ]
            consumer.assign(partitions)  # the consumer knows the leaders of assigned ones only
            for tp, end in (await consumer.end_offsets(partitions)).items():
                produced[tp.topic] += end
        consumed: dict[tuple[str, str], int] = {}
        for group, _ in await admin.list_consumer_groups():
            if not group.startswith(prefix):
                continue
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items():
                if meta.offset >= 0:
                    key = (group, tp.topic)
                    consumed[key] = consumed.get(key, 0) + meta.offset
        return Offsets(produced, consumed)
    finally:
        await consumer.stop()
        await admin.close()


def messages_per_unit(before: Offsets, after: Offsets, prefix: str, units: int) -> dict[str, Any]:
    """Messages produced per topic and consumed per group and topic, per unit (complaint),
    with the prefix taken off the names, and the totals."""
    if not units:
        return {}

    def name(full: str) -> str:
        return full[len(prefix) :] if full.startswith(prefix) else full

    produced = {
        name(topic): round((end - before.produced.get(topic, 0)) / units, 3)
        for topic, end in after.produced.items()
        if end - before.produced.get(topic, 0)
    }
    consumed: dict[str, dict[str, float]] = {}
    for (group, topic), offset in sorted(after.consumed.items()):
        moved = offset - before.consumed.get((group, topic), 0)
        if moved:
            consumed.setdefault(name(group), {})[name(topic)] = round(moved / units, 3)
    return {
        "produced": produced,
        "consumed": consumed,
        "produced_total": round(sum(produced.values()), 3),
        "consumed_total": round(sum(v for by in consumed.values() for v in by.values()), 3),
    }


async def drop_topics(bootstrap: str, prefix: str) -> None:
    """Delete the topics under a phase's prefix once it is counted: a broker holding every
    run's partitions runs out of heap (the shared 512 MB broker did, at about 14,600)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-accounting")
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
