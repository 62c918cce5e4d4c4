"""Intake's HTTP guards in process against the real PostgreSQL: per-IP and per-reporter rate
limits (429 + Retry-After), body size limits (413), security headers, CORS and the forms'
CSRF tokens, and the WhatsApp per-sender limit in the inbox worker."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from services.intake.adapters.whatsapp_inbox import sender_of, store_messages
from services.intake.bootstrap import create_app
from services.intake.domain.whatsapp import InboundMessage
from services.intake.entrypoints.inbox_worker import InboxWorker
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import default_keystore
from services.runtime.lifecycle import add_health_routes

pytestmark = pytest.mark.integration

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
ALLOWED_ORIGIN = "https://lapor.example.go.id"
# Generous unless a test is about the limit: every test here comes from one address.
OPEN = {"rate_limit_per_ip_per_minute": 100_000.0, "rate_limit_per_ip_burst": 10_000}
_serials = itertools.count(1)


def reporter() -> tuple[str, str]:
    """A fresh phone and NIK (the module's database is new), so per-reporter counters
    start empty for each use."""
    n = next(_serials)
    return f"0812{70_000_000 + n:08d}", f"317101{1 + n // 9999 % 28:02d}0190{n % 9999 + 1:04d}"


@pytest.fixture(scope="module")
def pool(intake_pool: asyncpg.Pool) -> asyncpg.Pool:
    return intake_pool


@pytest.fixture
def client_for(
    pool: asyncpg.Pool,
) -> Callable[..., httpx.AsyncClient]:
    def make(
        client: tuple[str, int] = ("127.0.0.1", 50000), **settings: object
    ) -> httpx.AsyncClient:
        app = create_app(lambda: pool, IntakeSettings(**settings), default_keystore())  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=app, client=client)
        return httpx.AsyncClient(transport=transport, base_url="http://intake")

    return make


def complaint(phone: str, nik: str) -> dict[str, object]:
    return {
        "name": "Rina Wulandari",
        "nik": nik,
        "phone": phone,
        "description": "Bantuan sosial keluarga kami dihentikan sejak Maret tanpa alasan jelas.",
    }


async def csrf_token(client: httpx.AsyncClient, page: str = "/lapor", **kwargs: object) -> str:
    response = await client.get(page, **kwargs)  # type: ignore[arg-type]
    match = CSRF_FIELD.search(response.text)
    assert match, response.text[:500]
    return match.group(1)


def form(csrf: str | None, phone: str, nik: str) -> dict[str, str]:
    fields = {
        "form_token": str(uuid.uuid4()),
        "name": "Rina Wulandari",
        "nik": nik,
        "phone": phone,
        "description": "Ijazah anak saya ditahan sekolah karena tunggakan biaya komite.",
    }
    return fields if csrf is None else {**fields, "csrf_token": csrf}


# --------------------------------------------------------------------------- per IP


async def test_one_address_over_its_budget_gets_429_with_retry_after(client_for) -> None:  # type: ignore[no-untyped-def]
    async with client_for(rate_limit_per_ip_per_minute=60, rate_limit_per_ip_burst=3) as client:
        codes = [
            (await client.get("/v1/complaints/LPR-0000-0000-000")).status_code for _ in range(3)
        ]
        assert codes == [404, 404, 404]
        refused = await client.get("/v1/complaints/LPR-0000-0000-000")
        assert refused.status_code == 429
        assert refused.headers["retry-after"].isdigit() and int(refused.headers["retry-after"]) >= 1
        assert "try again" in refused.json()["detail"]
        # The HTML pages and the JSON API share the one budget.
        assert (await client.get("/lapor")).status_code == 429


async def test_other_addresses_the_webhook_and_the_probes_are_not_limited(client_for, pool) -> None:  # type: ignore[no-untyped-def]
    from services.runtime.lifecycle import add_health_routes

    app = create_app(
        lambda: pool,
        IntakeSettings(rate_limit_per_ip_per_minute=1, rate_limit_per_ip_burst=1),
        default_keystore(),
    )

    async def ready() -> bool:
        return True

    add_health_routes(app, "intake", ready)

    def client(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://intake")

    async with client("198.51.100.1") as meta_and_probes, client("198.51.100.2") as citizen:
        assert (await citizen.get("/lapor")).status_code == 200
        assert (await citizen.get("/lapor")).status_code == 429
        for _ in range(20):  # Meta is never 429ed: a refusal would make it retry, amplifying
            webhook = await meta_and_probes.post("/webhooks/whatsapp", content=b"{}")
            assert webhook.status_code == 401  # unsigned, so refused, but not rate limited
            assert (await meta_and_probes.get("/healthz")).status_code == 200
            assert (await meta_and_probes.get("/readyz")).status_code == 200
            assert (await meta_and_probes.get("/metrics")).status_code == 200
        assert (await meta_and_probes.get("/lapor")).status_code == 200  # its own budget


# --------------------------------------------------------------------------- per reporter


async def test_a_phone_or_nik_over_its_hourly_complaints_gets_429(client_for, pool) -> None:  # type: ignore[no-untyped-def]
    phone, nik = reporter()
    other_phone, other_nik = reporter()
    async with client_for(complaints_per_reporter_per_hour=2, **OPEN) as client:
        key = f"first-{uuid.uuid4()}"
        first = await client.post(
            "/v1/complaints", json=complaint(phone, nik), headers={"Idempotency-Key": key}
        )
        assert first.status_code == 202, first.text
        second = await client.post("/v1/complaints", json=complaint(phone, other_nik))
        assert second.status_code == 202, second.text
        third = await client.post("/v1/complaints", json=complaint(phone, reporter()[1]))
        assert third.status_code == 429
        assert 3000 < int(third.headers["retry-after"]) <= 3600
        assert "phone number or NIK" in third.json()["detail"]
        assert nik not in third.text and phone not in third.text
        # The NIK counts on its own: the same person from another phone is limited too.
        by_nik = await client.post("/v1/complaints", json=complaint(other_phone, other_nik))
        assert by_nik.status_code == 202
        again_by_nik = await client.post("/v1/complaints", json=complaint(reporter()[0], nik))
        assert again_by_nik.status_code == 202  # nik: 2 of 2 now
        assert (
            await client.post("/v1/complaints", json=complaint(reporter()[0], nik))
        ).status_code == 429
        # A retry of a complaint already filed is a replay, not a new complaint.
        replay = await client.post(
            "/v1/complaints", json=complaint(phone, nik), headers={"Idempotency-Key": key}
        )
        assert replay.status_code == 202
        assert replay.json()["tracking_code"] == first.json()["tracking_code"]
    stored = await pool.fetch("SELECT subject FROM intake.limit_events")
    assert all(nik not in row["subject"] and "812" not in row["subject"] for row in stored)


async def test_the_form_tells_a_flooding_reporter_to_wait(client_for) -> None:  # type: ignore[no-untyped-def]
    phone, nik = reporter()
    async with client_for(complaints_per_reporter_per_hour=1, **OPEN) as client:
        first = await client.post("/lapor", data=form(await csrf_token(client), phone, nik))
        assert first.status_code == 303, first.text
        second = await client.post("/lapor", data=form(await csrf_token(client), phone, nik))
        assert second.status_code == 429 and int(second.headers["retry-after"]) > 3000
        assert 'id="nik-error">Sudah terlalu banyak laporan' in second.text
        assert 'value="Rina Wulandari"' in second.text  # what was typed is kept


async def test_one_time_codes_to_one_contact_are_limited_across_its_reports(client_for) -> None:  # type: ignore[no-untyped-def]
    phone, _ = reporter()
    async with client_for(one_time_codes_per_contact_per_hour=2, **OPEN) as client:
        codes = []
        for _ in range(2):
            filed = await client.post("/v1/complaints", json=complaint(phone, reporter()[1]))
            assert filed.status_code == 202, filed.text
            codes.append(filed.json()["tracking_code"])
        assert (await client.post(f"/v1/complaints/{codes[0]}/one-time-code")).status_code == 202
        assert (await client.post(f"/v1/complaints/{codes[1]}/one-time-code")).status_code == 202
        third = await client.post(f"/v1/complaints/{codes[0]}/one-time-code")
        assert third.status_code == 429 and third.headers["retry-after"].isdigit()
        assert "codes sent to this contact" in third.json()["detail"]


# --------------------------------------------------------------------------- body size


async def test_bodies_over_their_route_limit_get_413(client_for) -> None:  # type: ignore[no-untyped-def]
    settings = {
        "max_request_bytes": 4096,
        "max_attachment_bytes": 8192,
        "max_attachments": 1,
        "webhook_max_bytes": 2048,
        **OPEN,
    }
    async with client_for(**settings) as client:
        big = json.dumps({"description": "x" * 5000}).encode()
        declared = await client.post(
            "/v1/complaints", content=big, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413 and declared.json() == {
            "detail": "request body too large"
        }

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the bytes are counted
            for _ in range(10):
                yield b" " * 1000

        streamed = await client.post(
            "/v1/complaints", content=chunked(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in streamed.request.headers
        assert streamed.status_code == 413

        small = await client.post("/v1/complaints", json={"description": "x" * 100})
        assert small.status_code == 422  # under the limit: validated as usual

        webhook = await client.post("/webhooks/whatsapp", content=b"{" + b" " * 3000 + b"}")
        assert webhook.status_code == 413

        csrf = await csrf_token(client)
        phone, nik = reporter()
        upload = {"attachments": ("bukti.pdf", b"%PDF-" + b"0" * 20_000, "application/pdf")}
        too_big = await client.post("/lapor", data=form(csrf, phone, nik), files=upload)
        assert too_big.status_code == 413
        # A file a little too large still gets the form's own message, naming the file.
        just_over = {"attachments": ("bukti.pdf", b"%PDF-" + b"0" * 8200, "application/pdf")}
        named = await client.post("/lapor", data=form(csrf, phone, nik), files=just_over)
        assert named.status_code == 422 and "bukti.pdf: lebih dari" in named.text


# --------------------------------------------------------------------------- headers, CORS


async def test_html_pages_carry_a_strict_policy_and_no_inline_code(client_for) -> None:  # type: ignore[no-untyped-def]
    async with client_for(**OPEN) as client:
        for path in ("/lapor", "/lapor?lang=en", "/lapor/status", "/lapor/tambah"):
            page = await client.get(path)
            assert page.status_code == 200
            headers = page.headers
            policy = headers["content-security-policy"]
            assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
            assert "script-src" not in policy and "'unsafe-inline'" not in policy
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"
            assert "camera=()" in headers["permissions-policy"]
            assert headers["cache-control"] == "no-store"
            assert "<script" not in page.text and "<style" not in page.text
            assert " style=" not in page.text
        css = await client.get("/static/lapor.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "public" in css.headers["cache-control"]


async def test_the_json_api_is_nosniff_and_never_cached(client_for) -> None:  # type: ignore[no-untyped-def]
    async with client_for(**OPEN) as client:
        response = await client.post("/v1/complaints/LPR-0000-0000-000/details", json={})
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "content-security-policy" not in response.headers  # JSON needs none


async def test_cors_preflight_is_refused_for_foreign_origins_and_allowed_for_listed_ones(
    client_for,  # type: ignore[no-untyped-def]
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    async with client_for(cors_allowed_origins=ALLOWED_ORIGIN, **OPEN) as client:
        foreign = await client.options(
            "/v1/complaints", headers={"Origin": "https://evil.example", **preflight}
        )
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers
        allowed = await client.options(
            "/v1/complaints", headers={"Origin": ALLOWED_ORIGIN, **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "POST" in allowed.headers["access-control-allow-methods"]
        simple = await client.get(
            "/v1/complaints/LPR-0000-0000-000", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in simple.headers  # the browser hides it
    async with client_for(**OPEN) as default:  # no origins configured: none allowed
        refused = await default.options(
            "/v1/complaints", headers={"Origin": ALLOWED_ORIGIN, **preflight}
        )
        assert refused.status_code == 400


# --------------------------------------------------------------------------- CSRF


async def test_a_form_post_needs_the_token_of_its_own_cookie(client_for, pool) -> None:  # type: ignore[no-untyped-def]
    phone, nik = reporter()
    async with client_for(**OPEN) as client:
        missing = await client.post("/lapor", data=form(None, phone, nik))
        assert missing.status_code == 403 and 'id="refused"' in missing.text
        token = await csrf_token(client)
        assert client.cookies.get("lapor_csrf")
        wrong = await client.post("/lapor", data=form(token[:-2] + "xx", phone, nik))
        assert wrong.status_code == 403
        # Another browser's valid token does not fit this browser's cookie.
        async with client_for(**OPEN) as other_browser:
            foreign_token = await csrf_token(other_browser)
        assert (
            await client.post("/lapor", data=form(foreign_token, phone, nik))
        ).status_code == 403
        count = await pool.fetchval("SELECT count(*) FROM intake.complaints")
        right = await client.post("/lapor", data=form(token, phone, nik))
        assert right.status_code == 303, right.text
        assert await pool.fetchval("SELECT count(*) FROM intake.complaints") == count + 1
    async with client_for(**OPEN) as no_cookie:  # the token alone, without its cookie
        assert (await no_cookie.post("/lapor", data=form(token, phone, nik))).status_code == 403


async def test_the_update_form_needs_the_token_too(client_for) -> None:  # type: ignore[no-untyped-def]
    async with client_for(**OPEN) as client:
        fields = {"kode": "LPR-0000-0000-000", "phone": "081234567890", "additional_text": "x"}
        assert (await client.post("/lapor/tambah", data=fields)).status_code == 403
        token = await csrf_token(client, "/lapor/tambah")
        checked = await client.post("/lapor/tambah", data={**fields, "csrf_token": token})
        assert checked.status_code == 422  # past the CSRF check: the code is unknown


async def test_the_csrf_cookie_is_httponly_and_same_site(client_for) -> None:  # type: ignore[no-untyped-def]
    async with client_for(**OPEN) as client:
        page = await client.get("/lapor")
        cookie = page.headers["set-cookie"].lower()
        assert cookie.startswith("lapor_csrf=") and "httponly" in cookie
        assert "samesite=lax" in cookie and "path=/" in cookie
        again = await client.get("/lapor")  # the browser has one: it is kept, not replaced
        assert "set-cookie" not in again.headers


# --------------------------------------------------------------------------- WhatsApp


def text_message(wa_id: str, index: int, text: str = "halo") -> InboundMessage:
    return InboundMessage.model_validate(
        {
            "message_id": f"wamid.limit.{wa_id}.{index}.{uuid.uuid4().hex[:6]}",
            "wa_id": wa_id,
            "sent_at": "2026-11-23T10:00:00Z",
            "kind": "text",
            "text": text,
        }
    )


async def test_a_flooding_whatsapp_sender_is_told_once_then_not_answered(pool) -> None:  # type: ignore[no-untyped-def]
    wa_id = f"62812{uuid.uuid4().int % 10**8:08d}"
    settings = IntakeSettings(whatsapp_messages_per_sender_per_hour=5)
    messages = [text_message(wa_id, index) for index in range(9)]
    keys = default_keystore()
    async with pool.acquire() as conn:
        assert await store_messages(conn, keys, messages) == 9  # the webhook takes them all
    worker = InboxWorker(lambda: pool, settings, keys, batch_size=4)
    while await worker.process_batch():
        pass
    rows = await pool.fetch(
        "SELECT message_id, outcome FROM intake.whatsapp_inbox WHERE sender = $1 ORDER BY seq",
        sender_of(keys, wa_id),
    )
    outcomes = [row["outcome"] for row in rows]
    assert all(not outcome.startswith("limited") for outcome in outcomes[:5])
    assert outcomes[5:] == ["limited: messages"] * 4
    payloads = [
        bytes(row["payload"]) for row in await pool.fetch("SELECT payload FROM intake.outbox")
    ]

    def answered(message: InboundMessage) -> int:
        # Replies name the citizen's message by its keyed ref, never by the wamid.
        assert not any(message.message_id.encode() in payload for payload in payloads)
        return sum(keys.message_ref(message.message_id).encode() in payload for payload in payloads)

    assert {row["message_id"] for row in rows} == {keys.message_ref(m.message_id) for m in messages}

    assert all(answered(message) >= 1 for message in messages[:5])  # normal replies
    assert answered(messages[5]) == 1  # "too many messages", once
    assert [answered(message) for message in messages[6:]] == [0, 0, 0]  # then silence


async def test_the_inbox_names_messages_by_keyed_ref_and_still_knows_its_old_plain_ids(
    pool,
) -> None:  # type: ignore[no-untyped-def]
    """A message seen before intake migration 0012 (inbox row named by the plain wamid) and
    delivered again by Meta is not taken twice; new messages are stored by their ref."""
    wa_id = f"62813{uuid.uuid4().int % 10**8:08d}"
    keys = default_keystore()
    old, new = text_message(wa_id, 0), text_message(wa_id, 1)
    await pool.execute(
        "INSERT INTO intake.whatsapp_inbox (message_id, sender, processed_at, outcome)"
        " VALUES ($1, $2, now(), 'filed')",
        old.message_id,
        sender_of(keys, wa_id),
    )
    async with pool.acquire() as conn:
        assert await store_messages(conn, keys, [old, new]) == 1
        assert await store_messages(conn, keys, [new]) == 0  # Meta's retry
    stored = await pool.fetch(
        "SELECT message_id FROM intake.whatsapp_inbox WHERE sender = $1 ORDER BY seq",
        sender_of(keys, wa_id),
    )
    assert [row["message_id"] for row in stored] == [
        old.message_id,
        keys.message_ref(new.message_id),
    ]


async def test_counters_past_every_window_are_swept(pool) -> None:  # type: ignore[no-untyped-def]
    from services.intake.adapters import reporter_limits

    await pool.execute(
        "INSERT INTO intake.limit_events (subject, action, at) VALUES"
        " ('old', 'complaint', now() - interval '3 hours'),"
        " ('recent', 'complaint', now() - interval '30 minutes')"
    )
    async with pool.acquire() as conn:
        await reporter_limits.forget_old(conn)
    left = {row["subject"] for row in await pool.fetch("SELECT subject FROM intake.limit_events")}
    assert "old" not in left and "recent" in left


async def test_requests_are_counted_and_timed_by_route_template(pool) -> None:  # type: ignore[no-untyped-def]
    app = create_app(lambda: pool, IntakeSettings(**OPEN), default_keystore())  # type: ignore[arg-type]

    async def ready() -> bool:
        return True

    add_health_routes(app, "intake", ready)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        route = {"service": "intake", "route": "/v1/complaints/{tracking_code}"}
        counted = {**route, "method": "GET", "status": "400"}
        before = REGISTRY.get_sample_value("lapor_http_requests_total", counted) or 0.0
        timed = REGISTRY.get_sample_value("lapor_http_request_seconds_count", route) or 0.0
        for _ in range(2):
            assert (await client.get("/v1/complaints/not-a-code")).status_code == 400
        assert REGISTRY.get_sample_value("lapor_http_requests_total", counted) == before + 2
        assert REGISTRY.get_sample_value("lapor_http_request_seconds_count", route) == timed + 2
        scraped = (await client.get("/metrics")).text
        assert "not-a-code" not in scraped  # never the raw path
