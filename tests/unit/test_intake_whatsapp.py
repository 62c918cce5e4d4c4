"""The WhatsApp webhook's wire format and the guided conversation, pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import Channel, Language
from services.intake.domain.conversation import Draft, Step, handle_message
from services.intake.domain.whatsapp import (
    InboundMessage,
    InvalidWebhook,
    Media,
    parse_notification,
    sign,
    signature_matches,
    status_event_ids,
)

SECRET = "app-secret"
WA_ID = "6281234567890"
NIK = "3171015501900001"
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def test_signature_is_checked_over_the_raw_bytes() -> None:
    raw = '{"text":"Tanah saya 😞 à"}'.encode()
    header = sign(SECRET, raw)
    assert signature_matches(SECRET, raw, header)
    reserialised = json.dumps(json.loads(raw)).encode()  # escapes the emoji: other bytes
    assert not signature_matches(SECRET, reserialised, header)
    assert not signature_matches("other-secret", raw, header)
    assert not signature_matches(SECRET, raw, None)
    assert not signature_matches(SECRET, raw, header.removeprefix("sha256="))
    assert not signature_matches("", raw, sign("", raw))


def notification() -> dict[str, object]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "628111", "phone_number_id": "P1"},
                            "contacts": [{"profile": {"name": "Siti"}, "wa_id": WA_ID}],
                            "messages": [
                                {
                                    "from": WA_ID,
                                    "id": "wamid.1",
                                    "timestamp": "1795000000",
                                    "type": "text",
                                    "text": {"body": "halo"},
                                },
                                {
                                    "from": WA_ID,
                                    "id": "wamid.2",
                                    "timestamp": "1795000001",
                                    "type": "image",
                                    "image": {"id": "MEDIA1", "mime_type": "image/jpeg"},
                                },
                            ],
                        },
                    }
                ],
            },
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "P1"},
                            "statuses": [
                                {
                                    "id": "wamid.OUT",
                                    "status": "read",
                                    "timestamp": "1795000002",
                                    "recipient_id": WA_ID,
                                    "future_field": 1,
                                },
                                {
                                    "id": "wamid.OUT",
                                    "status": "failed",
                                    "timestamp": "1795000003",
                                    "recipient_id": WA_ID,
                                    "errors": [{"code": 131047, "title": "Re-engagement"}],
                                },
                            ],
                        },
                    }
                ],
            },
        ],
    }


def test_every_entry_change_message_and_status_is_parsed() -> None:
    batch = parse_notification(notification())
    assert [m.message_id for m in batch.messages] == ["wamid.1", "wamid.2"]
    assert batch.messages[0].text == "halo" and batch.messages[0].profile_name == "Siti"
    assert batch.messages[1].media == Media(media_id="MEDIA1", mime_type="image/jpeg")
    assert [(s.status, s.error_codes) for s in batch.statuses] == [
        ("read", ()),
        ("failed", ("131047",)),
    ]
    read, failed = batch.statuses
    assert status_event_ids(read)[1] == status_event_ids(failed)[1]  # one key per wamid
    assert status_event_ids(read)[0] != status_event_ids(failed)[0]


@pytest.mark.parametrize(
    "payload",
    [{}, {"object": "page", "entry": []}, {"object": "whatsapp_business_account"}, [1]],
)
def test_a_foreign_payload_is_refused(payload: object) -> None:
    with pytest.raises(InvalidWebhook):
        parse_notification(payload)


def message(
    text: str | None = None, *, kind: str = "text", at: datetime = T0, n: int = 0
) -> InboundMessage:
    media = Media(media_id=f"M{n}", mime_type="application/pdf") if kind == "document" else None
    return InboundMessage(
        message_id=f"wamid.{n}", wa_id=WA_ID, sent_at=at, kind=kind, text=text, media=media
    )


def converse(texts: list[str | tuple[str, str | None]]) -> list:  # type: ignore[type-arg]
    draft: Draft | None = None
    outcomes = []
    for n, item in enumerate(texts):
        kind, text = item if isinstance(item, tuple) else ("text", item)
        outcome = handle_message(
            draft, message(text, kind=kind, at=T0 + timedelta(minutes=n), n=n), "LPR-CODE"
        )
        draft = outcome.draft
        outcomes.append(outcome)
    return outcomes


def test_a_guided_conversation_files_one_complaint() -> None:
    outcomes = converse(
        [
            "halo",
            "Siti Aminah",
            "3171 0155 0190 0001",
            "ya",
            "Jakarta Pusat",
            "Sertifikat tanah saya tidak terbit sejak 2019 padahal sudah lunas.",
            ("document", None),
            "selesai",
            "ya",
        ]
    )
    assert [o.draft.step if o.draft else None for o in outcomes] == [
        Step.NAME,
        Step.NIK,
        Step.CONTACT,
        Step.REGION,
        Step.CHRONOLOGY,
        Step.DOCUMENTS,
        Step.DOCUMENTS,
        Step.CONFIRM,
        None,
    ]
    assert len({o.complaint_id for o in outcomes}) == 1
    submission = outcomes[-1].submission
    assert submission is not None and submission.channel is Channel.WHATSAPP
    assert (submission.name, submission.nik, submission.phone) == ("Siti Aminah", NIK, "+" + WA_ID)
    assert submission.city == "Jakarta Pusat"
    assert [a.attachment_id for a in submission.attachments] == ["whatsapp:M6"]
    assert "LPR-CODE" in outcomes[-1].replies[-1]
    assert all(o.submission is None for o in outcomes[:-1])


def test_mistakes_are_explained_and_the_step_repeats() -> None:
    outcomes = converse(["halo", "Siti", "1234", "3171015501900001", "bukan nomor", "x@y"])
    assert outcomes[2].draft.step is Step.NIK and "16" in outcomes[2].replies[0]
    assert outcomes[4].draft.step is Step.CONTACT
    assert outcomes[5].draft.step is Step.CONTACT


def test_english_greeting_gets_english_and_cancel_ends() -> None:
    outcomes = converse(["hello", "cancel"])
    assert outcomes[0].language is Language.ENGLISH and "Welcome" in outcomes[0].replies[0]
    assert outcomes[1].draft is None and "discarded" in outcomes[1].replies[0]


def test_unsupported_types_get_a_polite_answer() -> None:
    outcomes = converse([("audio", None), "halo", ("location", None)])
    assert outcomes[0].draft is None and "audio" in outcomes[0].replies[0]
    assert outcomes[2].draft.step is Step.NAME and "location" in outcomes[2].replies[0]


def test_the_one_message_format_files_at_once() -> None:
    text = f"LAPOR#Siti Aminah#{NIK}#Jakarta Pusat#Sertifikat tanah saya tidak terbit sejak 2019"
    (outcome,) = converse([text])
    assert outcome.draft is None and outcome.submission is not None
    assert outcome.submission.description.startswith("Sertifikat")
    assert outcome.submission.phone == "+" + WA_ID
    (bad,) = converse([f"LAPOR#Siti#{NIK}#Jakarta"])
    assert bad.submission is None and "LAPOR#Nama#NIK#Kota" in bad.replies[0]
    (bad_nik,) = converse(["LAPOR#Siti Aminah#123#Jakarta#Sertifikat tanah saya tidak terbit"])
    assert bad_nik.submission is None and "NIK" in bad_nik.replies[0]


def test_a_draft_expires_after_the_24_hour_window() -> None:
    first = handle_message(None, message("halo"), "C")
    late = handle_message(first.draft, message("Siti", at=T0 + timedelta(hours=25), n=1), "C")
    assert late.draft is not None and late.draft.step is Step.NAME
    assert late.complaint_id != first.complaint_id and "24" in late.replies[0]
    inside = handle_message(first.draft, message("Siti", at=T0 + timedelta(hours=23), n=1), "C")
    assert inside.draft is not None and inside.draft.step is Step.NIK


def test_an_odd_item_is_skipped_not_the_whole_notification() -> None:
    data = notification()
    value = data["entry"][0]["changes"][0]["value"]  # type: ignore[index]
    value["messages"].append({"id": "wamid.sys", "type": "system", "timestamp": "1"})  # no from
    value["messages"].append({"from": WA_ID, "id": "wamid.x", "type": "text", "timestamp": "x"})
    batch = parse_notification(data)
    assert [m.message_id for m in batch.messages] == ["wamid.1", "wamid.2"]
    assert batch.ignored == 2 and len(batch.statuses) == 2


def test_a_follow_up_is_recognised_in_text_or_caption() -> None:
    from services.intake.domain.conversation import follow_up

    text = follow_up(message("tambah#LPR-AAAA-BBBB-CCC#Surat desa menyusul"))
    assert text is not None and text.code_text == "LPR-AAAA-BBBB-CCC"
    assert text.text == "Surat desa menyusul" and text.attachment is None
    media = InboundMessage(
        message_id="wamid.m",
        wa_id=WA_ID,
        sent_at=T0,
        kind="document",
        media=Media(media_id="M9", mime_type="application/pdf", caption="TAMBAH#LPR-X"),
    )
    caption = follow_up(media)
    assert caption is not None and caption.attachment is not None
    assert caption.attachment.attachment_id == "whatsapp:M9"
    assert follow_up(message("halo")) is None


def test_anonymous_and_secret_are_chosen_at_the_summary() -> None:
    outcomes = converse(
        [
            "halo",
            "Siti Aminah",
            NIK,
            "ya",
            "Jakarta Pusat",
            "Sertifikat tanah saya tidak terbit sejak 2019 padahal sudah lunas.",
            "lewati",
            "ANONIM",
            "rahasia",
            "anonim",
            "rahasia",
            "Anonim",
            "ya",
        ]
    )
    assert "Anonim (identitas tidak diperlihatkan ke instansi): ya" in outcomes[7].replies[0]
    submission = outcomes[-1].submission
    assert submission is not None and submission.anonymous is True and submission.secret is False


def test_restart_and_a_repeated_greeting_do_not_become_a_name() -> None:
    outcomes = converse(["halo", "halo", "Siti Aminah", "ulang"])
    assert outcomes[1].draft.step is Step.NAME and outcomes[1].draft.name is None
    assert outcomes[2].draft.step is Step.NIK
    assert outcomes[3].draft.step is Step.NAME and outcomes[3].draft.name is None


def test_a_status_request_is_recognised() -> None:
    from services.intake.domain.citizen_status import label
    from services.intake.domain.conversation import status_request

    assert status_request(message("status# LPR-AAAA-BBBB-CCC ")) == "LPR-AAAA-BBBB-CCC"
    assert status_request(message("halo")) is None
    assert label("forwarded_to_agency", Language.INDONESIAN) == "Diteruskan ke instansi"
