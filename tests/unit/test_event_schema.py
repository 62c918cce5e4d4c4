import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas import export
from schemas.events import (
    EVENT_TYPES,
    Attachment,
    CaseAssigned,
    CaseAssignedPayload,
    Channel,
    ComplaintAcceptedPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    ComplaintUpdatedPayload,
    Reporter,
    follow_up_ids,
    parse_event,
    serialize_event,
)
from schemas.events.intake import CitizenReplyRequestedPayload
from schemas.personal_data import MASK, masked, personal_field_names
from schemas.topics import EVENT_TOPICS, topic_for_event


def received() -> ComplaintReceived:
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        payload=ComplaintReceivedPayload(
            tracking_code="LPR-AAAA-BBBB-CCC",
            channel=Channel.WEB,
            reporter=Reporter(name="Siti Aminah", nik="3171015501900001", phone="+6281234567890"),
            description="Sertifikat tanah tidak terbit — sudah 5 tahun 😞",
            received_at=datetime.now(UTC),
        ),
    )


def test_round_trip_keeps_every_field() -> None:
    event = received()
    assert parse_event(serialize_event(event)) == event


def test_discriminator_picks_the_payload_type() -> None:
    raw = serialize_event(received())
    assert type(parse_event(raw)) is ComplaintReceived


def test_extra_fields_are_forbidden() -> None:
    data = json.loads(serialize_event(received()))
    data["payload"]["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        parse_event(json.dumps(data))


def test_unknown_event_type_and_future_version_are_rejected() -> None:
    data = json.loads(serialize_event(received()))
    with pytest.raises(ValidationError):
        parse_event(json.dumps({**data, "event_type": "ComplaintTeleported"}))
    with pytest.raises(ValidationError, match="schema_version"):
        parse_event(json.dumps({**data, "schema_version": 2}))


def test_naive_timestamps_are_rejected() -> None:
    data = json.loads(serialize_event(received()))
    data["occurred_at"] = "2026-11-23T10:00:00"
    with pytest.raises(ValidationError, match="occurred_at"):
        parse_event(json.dumps(data))


def test_strict_types_do_not_coerce() -> None:
    data = json.loads(serialize_event(received()))
    data["payload"]["anonymous"] = "yes"
    with pytest.raises(ValidationError, match="anonymous"):
        parse_event(json.dumps(data))


def test_personal_data_is_marked_and_masked() -> None:
    assert personal_field_names(Reporter) == {"name", "nik", "phone", "email"}
    view = masked(received())
    reporter = view["payload"]["reporter"]
    assert reporter["name"] == reporter["nik"] == reporter["phone"] == MASK
    assert reporter["email"] is None  # nothing to hide
    assert "3171015501900001" not in json.dumps(view)
    schema = json.dumps(export.json_schema_document())
    assert '"x-personal-data": true' in schema


def test_the_citizens_own_words_are_marked_personal_and_masked() -> None:
    assert personal_field_names(ComplaintReceivedPayload) == {"description"}
    assert personal_field_names(ComplaintUpdatedPayload) == {"additional_text"}
    assert personal_field_names(Attachment) == {"filename"}
    assert personal_field_names(ComplaintAcceptedPayload) == {"summary"}
    assert personal_field_names(CitizenReplyRequestedPayload) == {"to", "text"}
    event = received()
    update = ComplaintUpdatedPayload(
        tracking_code="LPR-AAAA-BBBB-CCC",
        additional_text="Kwitansi terlampir",
        attachments=(Attachment(attachment_id="a", media_type="image/png", filename="kw.png"),),
    )
    shown = json.dumps([masked(event), masked(update)])
    assert "Sertifikat" not in shown and "Kwitansi" not in shown and "kw.png" not in shown
    assert masked(event)["payload"]["description"] == MASK
    # The published schema names the plain limit next to the (longer) sealed one.
    schema = ComplaintReceivedPayload.model_json_schema()["properties"]["description"]
    assert schema["x-personal-data"] is True
    assert schema["x-personal-data-max-plain-length"] == 20_000 < schema["maxLength"]


def test_follow_up_ids_are_deterministic() -> None:
    cause = received()
    first = follow_up_ids(cause, "routing", "CaseAssigned")
    assert first == follow_up_ids(cause, "routing", "CaseAssigned")
    assert first["event_id"] != follow_up_ids(cause, "routing", "Other")["event_id"]
    assert first["causation_id"] == cause.event_id
    assert first["correlation_id"] == cause.correlation_id


def test_every_event_class_is_in_the_union() -> None:
    from schemas.events import EventEnvelope

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found))

    concrete = {cls for cls in subclasses(EventEnvelope) if "event_type" in cls.model_fields}
    assert {cls.model_fields["event_type"].default for cls in concrete} == set(EVENT_TYPES)


def test_every_event_type_has_exactly_one_topic() -> None:
    for event_type in EVENT_TYPES:
        assert sum(event_type in spec.event_types for spec in EVENT_TOPICS) == 1
        topic_for_event(event_type)


def test_case_assigned_requires_aware_due_date() -> None:
    with pytest.raises(ValidationError):
        CaseAssignedPayload(
            case_id=uuid.uuid4(),
            tracking_code="x",
            agency_code="A",
            agency_name="A",
            rule_id="r",
            due_at=datetime(2026, 1, 1),  # naive
        )
    assert CaseAssigned.model_fields["event_type"].default == "CaseAssigned"


def test_checked_in_schema_documents_are_current() -> None:
    stale = export.stale_files()
    assert not stale, f"run `lapor schemas export`: stale {stale}"


def test_asyncapi_document_lists_every_topic_and_message() -> None:
    document = export.asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {spec.base_name for spec in EVENT_TOPICS} <= addresses
    assert set(document["components"]["messages"]) == set(EVENT_TYPES)
