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
    Pin,
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
    # The typed place is matched to its regency: the incident location, not the NIK's.
    assert (submission.region_code, submission.city) == ("31.71", "Kota Jakarta Pusat")
    assert submission.address is None and submission.latitude is None
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
    # The Kota field goes through the same matcher; a name it is unsure of stays as typed.
    assert (outcome.submission.region_code, outcome.submission.city) == (
        "31.71",
        "Kota Jakarta Pusat",
    )
    (unsure,) = converse([text.replace("Jakarta Pusat", "Bandung")])
    assert unsure.submission is not None and unsure.submission.region_code is None
    assert unsure.submission.city == "Bandung"
    (bad,) = converse([f"LAPOR#Siti#{NIK}#Jakarta"])
    assert bad.submission is None and "LAPOR#Nama#NIK#Kota" in bad.replies[0]
    (bad_nik,) = converse(["LAPOR#Siti Aminah#123#Jakarta#Sertifikat tanah saya tidak terbit"])
    assert bad_nik.submission is None and "NIK" in bad_nik.replies[0]


def test_berhenti_opts_out_and_mulai_opts_back_in_in_the_citizens_language() -> None:
    stop, start = converse(["BERHENTI", "mulai"])
    assert (stop.opt_out, stop.draft, stop.language) == (True, None, Language.INDONESIAN)
    assert stop.replies == (
        "Baik, nomor ini tidak akan menerima pemberitahuan dari kami lagi. Ketik MULAI bila"
        " ingin menerimanya kembali.",
    )
    assert start.opt_out is False and start.draft is None
    assert start.replies[0].startswith("Baik, nomor ini akan menerima pemberitahuan")
    assert "HALO" in start.replies[0]  # it did not start a conversation
    assert stop.submission is None and start.submission is None

    english_stop, english_start = converse(["Stop!", "START"])
    assert english_stop.opt_out is True and english_stop.language is Language.ENGLISH
    assert "no more notifications" in english_stop.replies[0]
    assert english_start.opt_out is False and "HELLO" in english_start.replies[0]
    (unsubscribe,) = converse(["berhenti langganan"])
    assert unsubscribe.opt_out is True


def test_berhenti_during_a_report_discards_it_and_mulai_keeps_it() -> None:
    """In an open conversation the reply follows its language; BERHENTI ends the draft (as
    BATAL does), MULAI leaves it where it was and asks the question again."""
    outcomes = converse(["hello", "Siti Aminah", "start", "stop", "halo"])
    resumed, stopped, fresh = outcomes[2], outcomes[3], outcomes[4]
    assert resumed.opt_out is False and resumed.language is Language.ENGLISH
    assert resumed.draft is not None and resumed.draft.step is Step.NIK
    assert resumed.draft.name == "Siti Aminah"
    assert resumed.replies[0] == "All right, this number will get our notifications again."
    assert "NIK" in resumed.replies[1]
    assert resumed.complaint_id == outcomes[0].complaint_id
    assert stopped.opt_out is True and stopped.draft is None
    assert stopped.replies[0] == "The report you were writing was discarded."
    assert "START" in stopped.replies[1]
    assert fresh.draft is not None and fresh.draft.step is Step.NAME and fresh.opt_out is None
    # Anything else is no opt-out: a word inside a sentence, BATAL, the conversation's answers.
    for outcome in converse(["halo", "tolong stop pungli di kantor", "batal"]):
        assert outcome.opt_out is None
    assert all(o.opt_out is None for o in converse(["halo", "Siti Aminah", NIK, "ya"]))


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


# --- where the problem is: a typed place or a location pin


def pin_message(latitude: float, longitude: float, n: int, **names: str) -> InboundMessage:
    return InboundMessage(
        message_id=f"wamid.{n}",
        wa_id=WA_ID,
        sent_at=T0 + timedelta(minutes=n),
        kind="location",
        location=Pin(latitude=latitude, longitude=longitude, **names),
    )


def at_place_step(greeting: str = "halo") -> Draft:
    outcomes = converse([greeting, "Siti Aminah", NIK, "ya"])
    draft = outcomes[-1].draft
    assert draft is not None and draft.step is Step.REGION
    return draft


def answer(draft: Draft, item: str | InboundMessage, n: int = 10):  # type: ignore[no-untyped-def]
    sent = (
        item
        if isinstance(item, InboundMessage)
        else message(item, n=n, at=T0 + timedelta(minutes=n))
    )
    return handle_message(draft, sent, "LPR-CODE")


def test_the_place_step_asks_where_the_problem_is_in_the_citizens_language() -> None:
    outcomes = converse(["halo", "Siti Aminah", NIK, "ya"])
    assert "Di mana masalahnya terjadi?" in outcomes[-1].replies[0]
    assert "Lokasi" in outcomes[-1].replies[0]
    english = converse(["hello", "Siti Aminah", NIK, "yes"])
    assert "Where is the problem?" in english[-1].replies[0]


def test_a_typed_place_with_a_street_address_sets_region_and_address() -> None:
    outcome = answer(at_place_step(), "Jl. Merdeka No. 5, Kota Bandung")
    draft = outcome.draft
    assert draft is not None and draft.step is Step.CHRONOLOGY
    assert (draft.region_code, draft.region) == ("32.73", "Kota Bandung, Jawa Barat")
    assert draft.address == "Jl. Merdeka No. 5"


def test_an_ambiguous_place_is_asked_again_with_numbered_choices() -> None:
    asked = answer(at_place_step(), "Bandung")
    assert asked.draft is not None and asked.draft.step is Step.REGION
    reply = asked.replies[0]
    assert "1. " in reply and "2. " in reply
    assert "Kota Bandung, Jawa Barat" in reply and "Kab. Bandung, Jawa Barat" in reply
    number = next(line[0] for line in reply.splitlines() if "Kab. Bandung" in line)
    chosen = answer(asked.draft, number, n=11)
    assert chosen.draft is not None and chosen.draft.step is Step.CHRONOLOGY
    assert chosen.draft.region_code == "32.04" and chosen.draft.place_choices == ()
    # A number out of range is no choice: the citizen is asked again.
    again = answer(asked.draft, "7", n=12)
    assert again.draft is not None and again.draft.step is Step.REGION


def test_an_unknown_place_is_asked_again() -> None:
    outcome = answer(at_place_step(), "Planet Namek")
    assert outcome.draft is not None and outcome.draft.step is Step.REGION
    assert "belum mengenali" in outcome.replies[0] and outcome.draft.region_code is None


def test_a_pin_is_placed_offline_and_confirmed_with_the_citizen() -> None:
    pin = pin_message(-6.9025, 107.6188, 10, name="Gedung Sate", address="Jl. Diponegoro 22")
    asked = answer(at_place_step(), pin)
    assert asked.replies == ("Lokasi: Kota Bandung, Jawa Barat — benar? Balas YA atau TIDAK.",)
    assert asked.draft is not None and asked.draft.step is Step.REGION
    confirmed = answer(asked.draft, "ya", n=11)
    draft = confirmed.draft
    assert draft is not None and draft.step is Step.CHRONOLOGY
    assert (draft.region_code, draft.latitude, draft.longitude) == ("32.73", -6.9025, 107.6188)
    assert draft.address == "Gedung Sate, Jl. Diponegoro 22"
    filed = converse_from(
        draft, ["Jalan rusak parah sejak Januari, sudah dilaporkan ke RT.", "lewati", "ya"]
    )
    submission = filed[-1].submission
    assert submission is not None
    assert (submission.region_code, submission.city) == ("32.73", "Kota Bandung")
    assert (submission.latitude, submission.longitude) == (-6.9025, 107.6188)
    assert submission.address == "Gedung Sate, Jl. Diponegoro 22"


def test_a_denied_pin_is_forgotten_and_the_place_is_typed_instead() -> None:
    asked = answer(at_place_step(), pin_message(-6.1754, 106.8272, 10))
    assert "Kota Jakarta Pusat, DKI Jakarta" in asked.replies[0]
    denied = answer(asked.draft, "tidak", n=11)
    assert denied.draft is not None and denied.draft.step is Step.REGION
    assert denied.draft.latitude is None and not denied.draft.pin_pending
    typed = answer(denied.draft, "Kab. Tangerang", n=12)
    assert typed.draft is not None and typed.draft.step is Step.CHRONOLOGY
    assert (typed.draft.region_code, typed.draft.latitude) == ("36.03", None)


def test_a_pin_in_english_far_away_or_too_early() -> None:
    english = answer(at_place_step("hello"), pin_message(-7.2458, 112.7378, 10))
    assert english.replies == (
        "Location: Kota Surabaya, Jawa Timur — is that right? Reply YES or NO.",
    )
    at_sea = answer(at_place_step(), pin_message(-12.0, 100.0, 10))
    assert at_sea.draft is not None and at_sea.draft.step is Step.REGION
    assert "tidak bisa kami tempatkan" in at_sea.replies[0]
    early = converse(["halo"])[0].draft
    assert early is not None
    too_early = answer(early, pin_message(-6.2, 106.8, 1))
    assert too_early.draft is not None and too_early.draft.step is Step.NAME
    assert "nanti" in too_early.replies[0] and too_early.draft.latitude is None


def test_a_location_message_is_parsed_with_optional_name_and_address() -> None:
    data = notification()
    value = data["entry"][0]["changes"][0]["value"]  # type: ignore[index]
    value["messages"] = [
        {
            "from": WA_ID,
            "id": "wamid.loc",
            "timestamp": "1763866800",
            "type": "location",
            "location": {
                "latitude": -6.2,
                "longitude": 106.8,
                "name": "Kantor",
                "address": "Jl. X",
            },
        },
        {
            "from": WA_ID,
            "id": "wamid.bare",
            "timestamp": "1763866801",
            "type": "location",
            "location": {"latitude": -6.2, "longitude": 106.8},
        },
    ]
    first, bare = parse_notification(data).messages
    assert first.kind == "location" and first.text is None
    assert first.location == Pin(latitude=-6.2, longitude=106.8, name="Kantor", address="Jl. X")
    assert bare.location == Pin(latitude=-6.2, longitude=106.8)


def converse_from(draft: Draft, texts: list[str]) -> list:  # type: ignore[type-arg]
    outcomes = []
    for n, text in enumerate(texts, 20):
        outcome = handle_message(
            draft, message(text, n=n, at=T0 + timedelta(minutes=n)), "LPR-CODE"
        )
        assert outcome.draft is not None or outcome.submission is not None, outcome.replies
        draft = outcome.draft  # type: ignore[assignment]
        outcomes.append(outcome)
    return outcomes


def test_the_whatsapp_tables_name_a_sender_by_a_keyed_hash_not_the_number() -> None:
    from services.intake.adapters.whatsapp_inbox import sender_of
    from services.personal_data.field_crypto import DEV_MASTER_KEYS, MasterKeys, identity_of
    from services.personal_data.keystore import Keystore

    keys = Keystore(MasterKeys.parse(DEV_MASTER_KEYS), b"one identity key")
    other = Keystore(MasterKeys.parse(DEV_MASTER_KEYS), b"another identity key")
    name = sender_of(keys, "6281234567890")
    assert name == sender_of(keys, "6281234567890")  # stable: per-sender order and lookups
    assert "81234567890" not in name
    assert name != sender_of(keys, "6281234567891")
    assert name != sender_of(other, "6281234567890")  # keyed: no key, no enumeration
    # Apart from the keystore's own digest of the number (which erasure clears).
    assert name != keys.digest(identity_of(None, "6281234567890", None) or "")
