"""Issue 14: after `lapor reporter erase`, nothing readable of the reporter is left anywhere.

One reporter (one NIK, one phone number that is also their WhatsApp number, one email) uses
every channel, each with a document of their own: the web form, the walk-in desk, a guided
WhatsApp conversation, TAMBAH# with a document on WhatsApp, an addition with a document on
/lapor/tambah, and the API for a problem another citizen reported first (triage marks it a
duplicate, routing joins the reporter to that collective case). Once every case is open and
every acknowledgement sent, an operator erases them (`lapor reporter erase --nik --phone
--email`, as a process). Then every table of every schema (the keystore's wrapped keys
aside), every record of every topic of the run (values, keys, headers; dead letters
included) and every service log is searched for the reporter's values:
in the clear, as hex or base64 (bytea, documents; identifiers also inside a longer base64
value, as in a WhatsApp message id, and as their unkeyed SHA-256), and inside any sealed
value whose key still opens. The test fails on any match and prints where.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.personal_data.keystore import Keystore
from tests.e2e.conftest import Pipeline
from tests.e2e.test_case_file_journey import (
    HOME_NIK,
    WhatsAppCitizen,
    case_of,
    csrf_of,
    file_at_the_desk,
    file_on_the_web,
    file_on_whatsapp,
    pdf,
)
from tests.e2e.test_case_file_journey import journey as journey  # a fixture
from tests.e2e.test_case_file_journey import providers as providers  # a fixture
from tests.support import REPO_ROOT, eventually

pytestmark = pytest.mark.e2e

# Made-up words, so a match is this reporter's data and nothing else.
NAME = "Rukminah Zelvadora Kwintaprasta"
EMAIL = "rukminah.zelvadora@kwintamail.example"
SERIAL = f"{secrets.randbelow(9000) + 1000}"
NIK = f"{HOME_NIK}{SERIAL}"
NATIONAL = f"813{secrets.randbelow(90_000_000) + 10_000_000}"  # the number without 0 / +62
PHONE = f"0{NATIONAL}"
WA_ID = f"62{NATIONAL}"
WEB_WORDS = ("Glombrengan", "Trakuswaja")
DESK_WORDS = ("Pelvomarto", "Jistakumbu")
WA_WORDS = ("Zoborwangi", "Krempyasih")
WA_ADDITION_WORDS = ("Blutakarsi",)
WEB_ADDITION_WORDS = ("Myrtondaku",)
COLLECTIVE_WORDS = ("Qwenderapu",)
ADDRESSES = ("Gang Vortimaksa", "Lorong Quendrasih", "Dusun Xaverpuri")
FILENAMES = (
    "kwintafoto-web.pdf",
    "kwintasurat-desk.pdf",
    "kwintaberkas-wa.pdf",
    "kwintatambah-web.pdf",
)
DOCUMENTS = {
    "web document": pdf("dokumen Vortimaksa web Glombrengan"),
    "desk document": pdf("dokumen Pelvomarto meja Jistakumbu"),
    "WhatsApp document": pdf("dokumen Zoborwangi percakapan"),
    "WhatsApp addition document": pdf("dokumen Blutakarsi tambahan wa"),
    "web addition document": pdf("dokumen Myrtondaku tambahan web"),
}
NEIGHBOUR_TEXT = (
    "Lampu penerangan jalan di Jalan Tunjungan Kota Surabaya mati semua sepanjang satu"
    " kilometer sejak dua minggu dan jalan gelap gulita setiap malam."
)


def needles() -> dict[str, list[bytes]]:
    """What must not be found, by name: each value in the forms it could be stored in."""
    texts = {
        "name": NAME,
        "name (surname)": NAME.split()[1],
        "NIK": NIK,
        "phone (any format)": NATIONAL,
        "phone 08": PHONE,
        "phone +62": f"+{WA_ID}",
        "phone 62": WA_ID,
        "email": EMAIL,
        **{f"words {w}": w for w in WEB_WORDS + DESK_WORDS + WA_WORDS},
        **{f"addition {w}": w for w in WA_ADDITION_WORDS + WEB_ADDITION_WORDS},
        **{f"collective {w}": w for w in COLLECTIVE_WORDS},
        **{f"address {a}": a for a in ADDRESSES},
        **{f"filename {f}": f.removesuffix(".pdf") for f in FILENAMES},
    }
    found = {name: [value.encode(), value.lower().encode()] for name, value in texts.items()}
    for name, data in [*((n, v.encode()) for n, v in texts.items()), *DOCUMENTS.items()]:
        found.setdefault(name, []).extend(
            [data.hex().encode(), base64.b64encode(data), base64.urlsafe_b64encode(data)]
        )
    for name, data in DOCUMENTS.items():
        found[name].append(data)
    for name in IDENTIFIERS:
        value = texts[name]
        # Inside a longer base64 value (a wamid holds the number among other bytes), and as
        # the unkeyed SHA-256 a digest of it would be (the notifier's before migration 0005).
        found[name] += base64_cores(value.encode())
        normal = value.lower() if "@" in value else "".join(c for c in value if c.isdigit())
        found[name] += [hashlib.sha256(v.encode()).hexdigest().encode() for v in {value, normal}]
    return found


# The values an id or a digest could be derived from.
IDENTIFIERS = ("NIK", "phone (any format)", "phone 08", "phone +62", "phone 62", "email")


def base64_cores(data: bytes) -> list[bytes]:
    """The base64 characters `data` fixes wherever it sits in a longer encoded value: at each
    of the three byte alignments, the groups that hold only its bytes (standard and URL-safe
    alphabets, no padding)."""
    cores = []
    for shift in range(3):
        padded = b"\0" * shift + data
        whole = padded[: len(padded) // 3 * 3]
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            core = encode(whole)[4 if shift else 0 :]
            cores.append(core)
    return cores


def matches(where: str, blob: bytes, wanted: dict[str, list[bytes]]) -> list[str]:
    lowered = blob.lower()
    return [
        f"{where}: {name}"
        for name, forms in wanted.items()
        if any(form in blob or form.lower() in lowered for form in forms)
    ]


# ------------------------------------------------------------------------------- the scans


async def scan_database(db: asyncpg.Pool, keys: Keystore) -> list[str]:
    """Every row of every table (the keystore's wrapped keys aside), as text, and every sealed
    value and document in it that a live key still opens."""
    wanted, found = needles(), []
    tables = await db.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN"
        " ('pg_catalog', 'information_schema', 'keystore') ORDER BY 1, 2"
    )
    async with db.acquire() as conn:
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            for row in await conn.fetch(f"SELECT t::text AS row FROM {name} t"):
                text = row["row"]
                found += matches(name, text.encode(), wanted)
                found += await opened_matches(conn, keys, name, text, wanted)
        for table in ("complaint_attachments", "whatsapp_media"):
            for row in await conn.fetch(
                f"SELECT key_id, content FROM intake.{table} WHERE content IS NOT NULL"
            ):
                opened = row["content"]
                if row["key_id"] is not None:
                    opened = await keys.open_bytes(conn, row["key_id"], row["content"])
                if opened is not None:
                    found += matches(f"intake.{table} (opened)", opened, wanted)
    return found


SEALED = re.compile(r"pd1:[0-9a-f]{32}:[A-Za-z0-9_-]+")


async def opened_matches(
    conn: asyncpg.Connection, keys: Keystore, where: str, text: str, wanted: dict[str, Any]
) -> list[str]:
    found: list[str] = []
    for value in set(SEALED.findall(text)):
        opened = await keys.reveal(conn, value)
        if opened is not None:
            found += matches(f"{where} (sealed, key still live)", opened.encode(), wanted)
    return found


async def scan_topics(bootstrap: str, db: asyncpg.Pool, keys: Keystore) -> list[str]:
    """Every record of every topic of this module's run, from the beginning."""
    wanted, found = needles(), []
    prefix = os.environ["LAPOR_TOPIC_PREFIX"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    partitions = {
        d["topic"]: [TopicPartition(d["topic"], p["partition"]) for p in d["partitions"]]
        for d in described
    }
    assert partitions, prefix
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        for topic in sorted(partitions):
            found += await scan_topic(consumer, partitions[topic], db, keys, wanted)
    finally:
        await consumer.stop()
    return found


async def scan_topic(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    db: asyncpg.Pool,
    keys: Keystore,
    wanted: Any,
) -> list[str]:
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    ends = await consumer.end_offsets(partitions)
    found: list[str] = []
    async with db.acquire() as conn:
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batches = await consumer.getmany(timeout_ms=2000, max_records=1000)
            for records in batches.values():
                for record in records:
                    where = f"topic {record.topic}[{record.partition}]@{record.offset}"
                    parts = [record.key or b"", record.value or b""]
                    parts += [value or b"" for _, value in record.headers or ()]
                    for part in parts:
                        found += matches(where, part, wanted)
                        text = part.decode(errors="replace")
                        found += await opened_matches(conn, keys, where, text, wanted)
    return found


# ------------------------------------------------------------------------- the reporter


async def wait_for_case(db: asyncpg.Pool, code: str) -> asyncpg.Record:
    return await case_of(db, code)


async def add_on_the_web(pipeline: Pipeline, code: str) -> None:
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as browser:
        csrf = csrf_of(await browser.get("/lapor/tambah"))
        added = await browser.post(
            "/lapor/tambah",
            data={
                "kode": code,
                "phone": PHONE,
                "additional_text": f"Foto tambahan dari {WEB_ADDITION_WORDS[0]} saya lampirkan.",
                "form_token": str(uuid.uuid4()),
                "csrf_token": csrf,
            },
            files={
                "attachments": (
                    FILENAMES[3],
                    DOCUMENTS["web addition document"],
                    "application/pdf",
                )
            },
        )
    assert added.status_code in (200, 303), added.text


async def join_a_collective_case(pipeline: Pipeline, db: asyncpg.Pool) -> tuple[str, Any]:
    """A neighbour reports a Surabaya street's lights first; the reporter reports the same."""
    neighbour = {"name": "Budi Santoso", "nik": f"{HOME_NIK}0042", "phone": "081377000042"}
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        first = await client.post(
            "/v1/complaints",
            json={**neighbour, "description": NEIGHBOUR_TEXT, "location": {"region_code": "35.78"}},
        )
        assert first.status_code == 202, first.text
        case = await wait_for_case(db, first.json()["tracking_code"])
        ours = await client.post(
            "/v1/complaints",
            json={
                "name": NAME,
                "nik": NIK,
                "phone": PHONE,
                "email": EMAIL,
                "description": f"{NEIGHBOUR_TEXT} Saya warga {COLLECTIVE_WORDS[0]}.",
                "location": {"region_code": "35.78", "address": ADDRESSES[2]},
            },
        )
    assert ours.status_code == 202, ours.text

    async def joined() -> bool:
        return bool(
            await db.fetchval(
                "SELECT count(*) FROM routing.case_reporters WHERE case_id = $1", case["case_id"]
            )
        )

    await eventually(joined, within=120)
    return ours.json()["tracking_code"], case


async def add_on_whatsapp(citizen: WhatsAppCitizen, graph: Any, code: str) -> None:
    graph.add_media("MEDIA-ERASE-2", DOCUMENTS["WhatsApp addition document"], "application/pdf")
    document = {
        "id": "MEDIA-ERASE-2",
        "mime_type": "application/pdf",
        "sha256": "x",
        "filename": FILENAMES[2],
        "caption": f"TAMBAH#{code}#Ini foto dari {WA_ADDITION_WORDS[0]}",
    }
    await citizen.send({"type": "document", "document": document})


async def settled(db: asyncpg.Pool, codes: Iterable[str]) -> None:
    """Every complaint of the reporter acknowledged (a sent message), nothing left to send,
    and every outbox empty."""
    codes = list(codes)

    async def quiet() -> bool:
        ids = await db.fetch(
            "SELECT complaint_id FROM intake.complaints WHERE tracking_code = ANY($1)", codes
        )
        sent = await db.fetchval(
            "SELECT count(DISTINCT complaint_id) FROM notifier.notifications"
            " WHERE complaint_id = ANY($1::uuid[]) AND status = 'sent'",
            [r["complaint_id"] for r in ids],
        )
        pending = await db.fetchval(
            "SELECT count(*) FROM notifier.notifications WHERE status IN ('pending', 'sending')"
        )
        outboxes = 0
        for schema in ("intake", "routing", "notifier"):
            outboxes += await db.fetchval(f"SELECT count(*) FROM {schema}.outbox")
        return len(ids) == len(codes) and sent == len(codes) and not pending and not outboxes

    await eventually(quiet, within=180, interval=1)


def erase_as_an_operator(database_url: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops.cli",
            "reporter",
            "erase",
            "--nik",
            NIK,
            "--phone",
            PHONE,
            "--email",
            EMAIL,
        ],  # every identifier the operator knows
        env={**os.environ, "LAPOR_DATABASE_URL": database_url},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_nothing_readable_of_an_erased_reporter_is_left_anywhere(
    journey: Pipeline,
    db: asyncpg.Pool,
    providers: dict[str, Any],
    stack: Any,
    database_url: str,
) -> None:
    graph = providers["graph"]
    who = {"name": NAME, "nik": NIK, "phone": PHONE, "email": EMAIL}
    web_code = await file_on_the_web(
        journey,
        who,
        DOCUMENTS["web document"],
        description=f"Jalan di kampung {WEB_WORDS[0]} berlubang dalam dan {WEB_WORDS[1]}"
        " sudah tiga kali jatuh dari motor minggu ini.",
        address=ADDRESSES[0],
        filename=FILENAMES[0],
    )
    desk_code = await file_at_the_desk(
        journey,
        {"name": NAME, "nik": NIK, "phone": PHONE},
        DOCUMENTS["desk document"],
        description=f"Selokan di gang {DESK_WORDS[0]} tersumbat sampah dan meluap ke rumah"
        f" {DESK_WORDS[1]} setiap kali hujan sejak bulan lalu.",
        address=ADDRESSES[1],
        filename=FILENAMES[1],
    )
    graph.add_media("MEDIA-ERASE-1", DOCUMENTS["WhatsApp document"], "application/pdf")
    citizen = WhatsAppCitizen(journey, graph, WA_ID)
    wa_code = await file_on_whatsapp(
        citizen,
        NIK,
        name=NAME,
        place=f"Kota Semarang, kampung {WA_WORDS[0]}",
        description=f"Jembatan kayu di kampung {WA_WORDS[0]} patah dan anak-anak {WA_WORDS[1]}"
        " harus menyeberang sungai untuk ke sekolah.",
        media_id="MEDIA-ERASE-1",
    )
    for code in (web_code, desk_code, wa_code):
        await wait_for_case(db, code)
    await add_on_whatsapp(citizen, graph, wa_code)
    await add_on_the_web(journey, web_code)
    collective_code, _ = await join_a_collective_case(journey, db)

    async def additions_arrived() -> bool:
        return (await db.fetchval("SELECT count(*) FROM routing.case_additions")) >= 2

    await eventually(additions_arrived, within=120)
    await settled(db, (web_code, desk_code, wa_code, collective_code))
    for text in ("halo", NAME, NIK):  # a new conversation, left open: erased mid-way
        await citizen.say(text)

    keys = Keystore.from_env()
    before = await scan(journey, db, keys, stack.kafka_bootstrap)
    unseen = set(needles()) - {entry.rsplit(": ", 1)[1] for entry in before}
    # The scan sees every value while the reporter's keys live (a number is stored in E.164).
    assert unseen <= {"phone 08"}, f"the scan does not see {unseen}"

    printed = erase_as_an_operator(database_url)
    erased = re.search(r"erased (\d+) data key", printed)
    assert erased and int(erased.group(1)) >= 2, printed  # the NIK's key and the number's

    keys = Keystore.from_env()  # a fresh cache: what a service sees once the erasure reached it
    found = await scan(journey, db, keys, stack.kafka_bootstrap)
    assert not found, "readable after erasure:\n" + "\n".join(sorted(set(found)))


async def scan(pipeline: Pipeline, db: asyncpg.Pool, keys: Keystore, bootstrap: str) -> list[str]:
    found = await scan_database(db, keys)
    found += await scan_topics(bootstrap, db, keys)
    for path in pipeline.log_dir.glob("*.log"):
        found += matches(f"log {path.name}", path.read_bytes(), needles())
    return found
