"""`/v1/dead-letters`: a service's own dead letters for the back office's admin pages, what
`lapor dlq` does (services.messaging.deadletter): list them, show one with personal data
masked, replay chosen ones to their source topics after a fix. Admin staff only, by the
back office's staff assertion (`X-Lapor-Staff`, role admin): 401 without a valid one, 403
for another role. Each service's `create_app` mounts it (`mount_dead_letters`: intake,
routing, notifier), so every test that walks an app's routes walks these too; the runtime
connects them to Kafka at start (`connect_dead_letters`: the broker's address and the started
producer; until then they answer 503). Triage serves the same on its faust web server
(services.triage.entrypoints.dead_letters).

No `from __future__ import annotations` here: FastAPI must see the `Admin` dependency built
inside the router factory as a real annotation, not a string it cannot resolve."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from schemas.staff import Role, StaffMember
from services.messaging.deadletter import (
    StoredLetter,
    masked_payload,
    read_dead_letters,
    replay_dead_letters,
)
from services.observability import scrub
from services.runtime.http_problems import UNREADABLE_BODY, problem
from services.runtime.staff import staff_with_role

log = logging.getLogger(__name__)
ADMIN_STAFF = {
    401: problem("No valid staff assertion"),
    403: problem("A staff member without the admin role"),
}
NO_LETTER = {404: problem("No dead letter at that offset")}
NOT_CONNECTED = {503: problem("Not connected to Kafka")}
Reader = Callable[[], Awaitable[list[StoredLetter]]]


class DeadLetterSummary(BaseModel):
    offset: int
    at: datetime
    source: str = Field(description="topic[partition]@offset it came from")
    reason: str = Field(description="Why it failed (NIKs, phone numbers, emails scrubbed)")
    size_bytes: int


class DeadLetterList(BaseModel):
    service: str
    letters: list[DeadLetterSummary]


class DeadLetterDetail(DeadLetterSummary):
    headers: dict[str, str]
    payload: Any = Field(
        description="The event with personal fields masked, or (not a valid event) its"
        " first 2000 characters with personal data scrubbed"
    )


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offsets: list[int] = Field(min_length=1, max_length=1000, description="Which letters")


class ReplayResult(BaseModel):
    replayed: list[int] = Field(description="Offsets sent back to their source topics")
    missing: list[int] = Field(description="Offsets with no letter (or no known source)")


def summary(letter: StoredLetter) -> dict[str, Any]:
    """A letter as the list shows it (the reason scrubbed: a parser's message may quote the
    input)."""
    return {
        "offset": letter.offset,
        "at": datetime.fromtimestamp(letter.timestamp_ms / 1000, UTC),
        "source": letter.source,
        "reason": scrub(letter.reason),
        "size_bytes": len(letter.value),
    }


def detail(letter: StoredLetter) -> dict[str, Any]:
    headers = {name: scrub(value) for name, value in letter.headers.items()}
    return {**summary(letter), "headers": headers, "payload": masked_payload(letter.value)}


@dataclass
class KafkaLink:
    """What the dead-letter routes use of the running service, set by the runtime at start."""

    bootstrap: str | None = None
    producer: AIOKafkaProducer | None = None


def mount_dead_letters(app: FastAPI, service: str, *, staff_secret: str | None = None) -> None:
    """`/v1/dead-letters` on a service's app, from its `create_app`; not connected to Kafka
    until the runtime starts (`connect_dead_letters`)."""
    link = KafkaLink()
    app.state.dead_letters = link
    app.include_router(
        dead_letter_router(
            service, lambda: link.bootstrap, lambda: link.producer, staff_secret=staff_secret
        )
    )


def connect_dead_letters(app: FastAPI, bootstrap: str, producer: AIOKafkaProducer | None) -> None:
    """The runtime, at start: the broker and the started producer for the app's dead-letter
    routes, if its `create_app` mounted them."""
    link = getattr(app.state, "dead_letters", None)
    if isinstance(link, KafkaLink):
        link.bootstrap, link.producer = bootstrap, producer


def dead_letter_router(
    service: str,
    bootstrap: str | Callable[[], str | None],
    producer: Callable[[], AIOKafkaProducer | None],
    *,
    staff_secret: str | None = None,
) -> APIRouter:
    """`bootstrap`: the broker's address (or how to get it once connected); `producer`: the
    service's started producer, which replays; `staff_secret`: default
    LAPOR_STAFF_ASSERTION_SECRET."""
    router = APIRouter(tags=["dead letters"])
    Admin = Annotated[StaffMember, Depends(staff_with_role(Role.ADMIN, secret=staff_secret))]

    async def letters() -> list[StoredLetter]:
        address = bootstrap() if callable(bootstrap) else bootstrap
        if address is None:
            raise HTTPException(503, "the service is not connected to Kafka yet")
        return await read_dead_letters(address, service)

    @router.get("/v1/dead-letters", responses={**ADMIN_STAFF, **NOT_CONNECTED})
    async def list_dead_letters(_: Admin) -> DeadLetterList:
        """Every letter retained on this service's dead-letter topic, oldest first."""
        return DeadLetterList.model_validate(
            {"service": service, "letters": [summary(letter) for letter in await letters()]}
        )

    @router.get(
        "/v1/dead-letters/{offset}", responses={**ADMIN_STAFF, **NO_LETTER, **NOT_CONNECTED}
    )
    async def show_dead_letter(
        offset: Annotated[int, Path(ge=0, le=2**62)], _: Admin
    ) -> DeadLetterDetail:
        found = next((letter for letter in await letters() if letter.offset == offset), None)
        if found is None:
            raise HTTPException(404, f"no dead letter at offset {offset}")
        return DeadLetterDetail.model_validate(detail(found))

    @router.post(
        "/v1/dead-letters/replay",
        responses={**ADMIN_STAFF, **UNREADABLE_BODY, **NOT_CONNECTED},
    )
    async def replay(body: ReplayIn, who: Admin) -> ReplayResult:
        """Send the chosen letters back to their source topics, unchanged; safe to repeat
        (an event keeps its id, so a consumer that processed it changes nothing)."""
        sender = producer()
        if sender is None:
            raise HTTPException(503, "the service is not connected to Kafka yet")
        wanted = set(body.offsets)
        chosen = [letter for letter in await letters() if letter.offset in wanted]
        replayed = {letter.offset for letter in await replay_dead_letters(sender, chosen)}
        log.info(
            "dead letters replayed",
            extra={"staff_id": who.staff_id, "offsets": sorted(replayed), "service": service},
        )
        return ReplayResult(replayed=sorted(replayed), missing=sorted(wanted - replayed))

    return router
