"""`/v1/dead-letters` on faust's web server: triage's own dead letters for the back office's
admin pages, the same API as the other services' (services.runtime.dead_letters, which
shapes the answers): list, show one with personal data masked, replay chosen ones. Admin
staff only, by the back office's staff assertion (`X-Lapor-Staff`, role admin): 401 without
a valid one, 403 for another role."""

from __future__ import annotations

import json
import logging
from typing import Any

import faust

from schemas.staff import HEADER, InvalidAssertion, Role, verify
from services.messaging.deadletter import read_dead_letters, replay_dead_letters
from services.messaging.kafka import make_producer
from services.runtime.dead_letters import detail, summary
from services.triage.settings import SERVICE

log = logging.getLogger(__name__)


def _refusal(web: Any, request: Any, secret: str) -> tuple[str | None, Any]:
    """The admin's staff id, or the response refusing the request."""
    try:
        member = verify(request.headers.get(HEADER) or "", secret)
    except InvalidAssertion:
        return None, web.json({"detail": "a valid staff assertion is required"}, status=401)
    if not member.has(Role.ADMIN):
        return None, web.json({"detail": "this needs the role admin"}, status=403)
    return member.staff_id, None


def _jsonable(value: Any) -> Any:
    """Times as ISO 8601, as the FastAPI services answer them."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat()))


def _offsets(raw: Any) -> list[int] | None:
    offsets = raw.get("offsets") if isinstance(raw, dict) else None
    if (
        not isinstance(offsets, list)
        or not 1 <= len(offsets) <= 1000
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not all(-(2**63) <= o < 2**63 for o in offsets)  # Kafka's (and faust's JSON) range
    ):
        return None
    return offsets


def add_dead_letter_pages(app: faust.App, bootstrap: str, secret: str) -> None:
    @app.page("/v1/dead-letters")
    async def list_dead_letters(web: Any, request: Any) -> Any:
        _, refused = _refusal(web, request, secret)
        if refused is not None:
            return refused
        letters = await read_dead_letters(bootstrap, SERVICE)
        shown = [summary(letter) for letter in letters]
        return web.json(_jsonable({"service": SERVICE, "letters": shown}))

    @app.page("/v1/dead-letters/replay")
    class Replay(faust.web.View):
        async def post(self, request: Any) -> Any:
            staff_id, refused = _refusal(self, request, secret)
            if refused is not None:
                return refused
            try:
                wanted = _offsets(await request.json())
            except UnicodeDecodeError:  # bytes that are not UTF-8: as the FastAPI services
                return self.json({"detail": "the body cannot be decoded (not UTF-8)"}, status=400)
            except json.JSONDecodeError:
                wanted = None
            if wanted is None:
                return self.json(
                    {"detail": "offsets: a list of 1 to 1000 64-bit numbers"}, status=422
                )
            chosen = [o for o in await read_dead_letters(bootstrap, SERVICE) if o.offset in wanted]
            producer = make_producer(bootstrap, f"{SERVICE}-dlq-replay")
            await producer.start()
            try:
                replayed = sorted(o.offset for o in await replay_dead_letters(producer, chosen))
            finally:
                await producer.stop()
            log.info("dead letters replayed", extra={"staff_id": staff_id, "offsets": replayed})
            missing = sorted(set(wanted) - set(replayed))
            return self.json({"replayed": replayed, "missing": missing})

    # after the replay page: aiohttp matches paths in order, and {offset} would take it
    @app.page("/v1/dead-letters/{offset}")
    async def show_dead_letter(web: Any, request: Any, offset: str) -> Any:
        _, refused = _refusal(web, request, secret)
        if refused is not None:
            return refused
        if not offset.isdigit():
            return web.json({"detail": "offset must be a number"}, status=422)
        letters = await read_dead_letters(bootstrap, SERVICE)
        found = next((letter for letter in letters if letter.offset == int(offset)), None)
        if found is None:
            return web.json({"detail": f"no dead letter at offset {offset}"}, status=404)
        return web.json(_jsonable(detail(found)))
