"""The consumer loop skips, unparsed, the events its service has no handler for, by their
`event_type` header; a record without the header is still parsed (and dead-lettered when it
is no event)."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord

from services.messaging.consumer import ConsumerLoop


async def nothing(*_: object) -> Sequence[object]:
    return ()


def loop() -> ConsumerLoop:
    return ConsumerLoop(
        service="unit",
        bootstrap="unused",
        topics=["t"],
        group_id="unused",
        pool=None,  # type: ignore[arg-type]
        dead_letters=None,  # type: ignore[arg-type]
        handlers={"CitizenNotified": nothing},  # type: ignore[dict-item]
        batch_handlers={"CaseAssigned": nothing},  # type: ignore[dict-item]
    )


def record(headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord("t", 0, 0, 0, 0, b"k", b"not json", None, 1, 8, headers)


def test_a_type_without_a_handler_is_ignored_by_its_header() -> None:
    ignored = record([("event_id", b"x"), ("event_type", b"CitizenNotificationStatusChanged")])
    assert loop().ignores(ignored)


def test_handled_types_and_records_without_the_header_are_parsed() -> None:
    consumer = loop()
    assert not consumer.ignores(record([("event_type", b"CitizenNotified")]))
    assert not consumer.ignores(record([("event_type", b"CaseAssigned")]))
    assert not consumer.ignores(record([]))
