"""The guided WhatsApp conversation, pure: a state machine from (draft, message) to outcome.

A citizen who writes "halo" is led through name, NIK, contact, where the problem is,
chronology, documents and a summary to confirm. Where the problem is may be typed (a place
name matched to its regency by `schemas.places`, with numbered choices when the name is
ambiguous, e.g. "Bandung") or sent as a WhatsApp location pin (placed in its regency offline,
then confirmed with the citizen). A citizen who sends the one-message format
`LAPOR#Nama#NIK#Kota#Isi laporan` is taken in one step. BERHENTI / STOP (at any point) opts
the number out of our notifications and MULAI / START opts it back in, as on SMS: the outcome
says so (`opt_out`) and the caller tells the notifier. The draft lives in PostgreSQL
(the caller stores it); after WhatsApp's 24-hour window it is dropped and the citizen starts
again. Bahasa Indonesia first; a citizen who greets in English is answered in English.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from schemas.events import Attachment, Channel, Language
from schemas.identity import InvalidIdentity, check_email, check_nik, normalise_phone
from schemas.opt_out import opt_out_intent
from schemas.places import match_place, regency_at
from schemas.regions import Regency, regency
from services.intake.domain.complaints import Submission
from services.intake.domain.whatsapp import WHATSAPP_NAMESPACE, InboundMessage, Pin

WINDOW = timedelta(hours=24)
MAX_ATTACHMENTS = 10
MIN_CHRONOLOGY = 20
STRUCTURED_PREFIX = "LAPOR#"
FOLLOW_UP_PREFIX = "TAMBAH#"
STATUS_PREFIX = "STATUS#"
_RESTART = {"ulang", "mulai lagi", "restart", "start over"}
_GREETINGS = {"halo", "hai", "hallo", "assalamualaikum", "selamat pagi", "selamat siang"}
_YES = {"ya", "y", "iya", "yes", "ok", "oke", "benar", "setuju", "kirim", "send"}
_NO = {"tidak", "tdk", "no", "salah"}
_CANCEL = {"batal", "cancel"}  # BERHENTI / STOP: an opt-out, see `_opt`
_DONE = {"selesai", "lewati", "tidak ada", "skip", "done", "none", "no documents"}
_ANONYMOUS = {"anonim", "anonymous"}
_SECRET = {"rahasia", "secret"}
_ENGLISH_GREETINGS = {"hi", "hello", "hey", "good morning", "good afternoon", "english", "en"}
_ENGLISH_OPT_WORDS = {"stop", "start", "unsubscribe"}
USABLE_MEDIA = ("image", "document")


class Step(StrEnum):
    NAME = "name"
    NIK = "nik"
    CONTACT = "contact"
    REGION = "region"
    CHRONOLOGY = "chronology"
    DOCUMENTS = "documents"
    CONFIRM = "confirm"


class Draft(BaseModel):
    """A complaint being drafted in a conversation (personal data: stored, never logged)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    complaint_id: uuid.UUID
    step: Step
    language: Language = Language.INDONESIAN
    name: str | None = None
    nik: str | None = None
    phone: str | None = None
    email: str | None = None
    region: str | None = None  # where the problem is, as shown: "Kota Bandung, Jawa Barat"
    region_code: str | None = None  # its regency, "32.73"
    address: str | None = None  # the street address typed with it or the pin's name/address
    latitude: float | None = None  # a location pin's
    longitude: float | None = None
    # Regency codes offered: numbered choices for an ambiguous name, or a pin's regency
    # awaiting YES / NO (`pin_pending`).
    place_choices: tuple[str, ...] = ()
    pin_pending: bool = False
    description: str | None = None
    attachments: tuple[Attachment, ...] = ()
    anonymous: bool = False
    secret: bool = False
    last_message_at: datetime


@dataclass(frozen=True)
class Outcome:
    draft: Draft | None  # None: no conversation open any more
    replies: tuple[str, ...]
    language: Language
    complaint_id: uuid.UUID  # the complaint the replies belong to (a draft's id until filed)
    submission: Submission | None = None
    # BERHENTI / STOP: True (opt this number out of notifications); MULAI / START: False.
    opt_out: bool | None = None


_TEXTS: dict[Language, dict[str, str]] = {
    Language.INDONESIAN: {
        "welcome": (
            "Selamat datang di layanan pengaduan Lapor Mas Wapres. Kami akan memandu Anda"
            " langkah demi langkah (ketik BATAL kapan saja untuk berhenti). Jika sudah hafal"
            " formatnya, Anda juga bisa mengirim satu pesan: LAPOR#Nama#NIK#Kota#Isi laporan"
        ),
        "expired": "Percakapan sebelumnya sudah lewat 24 jam, jadi kami mulai dari awal.",
        Step.NAME: "Siapa nama lengkap Anda sesuai KTP?",
        Step.NIK: "Berapa NIK Anda (16 angka di KTP)?",
        Step.CONTACT: (
            "Nomor atau email mana yang bisa kami hubungi? Balas YA untuk memakai nomor"
            " WhatsApp ini, atau ketik nomor HP / alamat email lain."
        ),
        Step.REGION: (
            "Di mana masalahnya terjadi? Tulis nama kota/kabupatennya (mis. Jakarta Pusat,"
            " Kab. Bogor), boleh dengan alamatnya (mis. Jl. Merdeka 5, Kota Bandung), atau"
            " kirim lokasi lewat tombol lampiran (📎 → Lokasi)."
        ),
        "place_choices": (
            "Ada beberapa kota/kabupaten dengan nama itu. Balas dengan nomornya:\n{choices}\n"
            "Atau tulis lagi nama tempatnya dengan lebih lengkap."
        ),
        "place_unknown": (
            "Kami belum mengenali tempat itu. Tulis nama kota/kabupaten (mis. Jakarta Pusat,"
            " Kab. Bogor, Kota Tegal), atau kirim lokasi lewat tombol lampiran (📎 → Lokasi)."
        ),
        "pin_confirm": "Lokasi: {place} — benar? Balas YA atau TIDAK.",
        "pin_denied": "Baik. Tulis nama kota/kabupaten tempat masalahnya terjadi.",
        "pin_unknown": (
            "Lokasi itu tidak bisa kami tempatkan di kota/kabupaten mana pun di Indonesia."
            " Tulis nama kota/kabupaten tempat masalahnya terjadi."
        ),
        "pin_later": "Lokasi kejadian kami tanyakan nanti; mohon jawab dulu pertanyaan ini.",
        Step.CHRONOLOGY: (
            "Ceritakan kronologinya: apa yang terjadi, kapan, di mana, dan siapa yang terlibat."
        ),
        Step.DOCUMENTS: (
            "Kirim dokumen pendukung (foto atau PDF) satu per satu. Ketik SELESAI bila sudah,"
            " atau LEWATI bila belum ada (dokumen masih bisa menyusul dalam 10 hari)."
        ),
        "summary": (
            "Mohon periksa laporan Anda:\nNama: {name}\nNIK: {nik}\nKontak: {contact}\n"
            "Lokasi: {region}\nKronologi: {description}\nDokumen: {documents}\n"
            "Anonim (identitas tidak diperlihatkan ke instansi): {anonymous}\n"
            "Rahasia (isi tidak dipublikasikan): {secret}\n"
            "Balas YA untuk mengirim, ANONIM atau RAHASIA untuk mengubah pilihan itu, atau"
            " BATAL untuk membatalkan."
        ),
        "confirm_again": "Balas YA untuk mengirim laporan, atau BATAL untuk membatalkan.",
        "filed": (
            "Terima kasih, laporan Anda sudah kami terima dengan nomor pelacakan {code}."
            " Simpan nomor ini untuk memantau status laporan Anda. Dokumen yang kurang bisa"
            " menyusul dalam 10 hari: kirim foto/PDF dengan keterangan TAMBAH#{code}"
        ),
        "follow_up_format": (
            "Untuk menambah keterangan atau dokumen: TAMBAH#nomor pelacakan#keterangan, atau"
            " kirim foto/PDF dengan keterangan TAMBAH#nomor pelacakan."
        ),
        "follow_up_unknown": (
            "Kami tidak menemukan laporan dengan nomor itu dari nomor WhatsApp ini."
        ),
        "follow_up_refused": "Tambahan tidak bisa diterima: {reason}.",
        "follow_up_done": "Tambahan untuk laporan {code} sudah kami terima.",
        "status_unknown": "Kami tidak menemukan laporan dengan nomor itu. Periksa lagi nomornya.",
        "too_many_messages": (
            "Anda mengirim terlalu banyak pesan. Pesan berikutnya dalam satu jam ini tidak kami"
            " proses; silakan lanjutkan nanti."
        ),
        "too_many_reports": (
            "Sudah terlalu banyak laporan dari nomor atau NIK ini dalam satu jam terakhir, jadi"
            " laporan ini belum kami terima. Silakan kirim lagi nanti."
        ),
        "cancelled": "Laporan dibatalkan. Kirim pesan apa saja untuk memulai lagi.",
        "bad_name": "Nama harus 2 sampai 200 huruf. Siapa nama lengkap Anda sesuai KTP?",
        "bad_nik": "NIK belum benar ({reason}). Mohon kirim 16 angka NIK sesuai KTP.",
        "bad_contact": (
            "Nomor atau email belum bisa kami baca. Balas YA untuk memakai nomor WhatsApp ini,"
            " atau ketik nomor HP (mis. 0812...) atau email."
        ),
        "bad_region": "Mohon tulis nama kota/kabupaten (3 sampai 500 huruf).",
        "bad_chronology": (
            "Kronologinya terlalu pendek. Mohon ceritakan minimal 20 huruf: apa yang terjadi,"
            " kapan dan di mana."
        ),
        "document_saved": "Dokumen ke-{count} kami simpan. Kirim lagi, atau ketik SELESAI.",
        "document_kept": "Dokumen kami simpan untuk laporan ini.",
        "too_many_documents": "Maksimal 10 dokumen per laporan; dokumen ini tidak kami simpan.",
        "documents_hint": "Kirim foto atau PDF, atau ketik SELESAI bila sudah.",
        "unsupported": (
            "Maaf, kami belum bisa membaca pesan jenis ini ({kind}). Mohon kirim teks; foto"
            " dan PDF bisa dikirim sebagai dokumen pendukung."
        ),
        "unsupported_start": " Ketik HALO untuk mulai membuat laporan.",
        "structured_format": (
            "Format satu pesan belum lengkap. Gunakan: LAPOR#Nama#NIK#Kota#Isi laporan"
            " (contoh: LAPOR#Siti Aminah#3171015501900001#Jakarta Pusat#Sertifikat tanah"
            " saya tidak terbit sejak 2019)."
        ),
        "opted_out": (
            "Baik, nomor ini tidak akan menerima pemberitahuan dari kami lagi. Ketik MULAI bila"
            " ingin menerimanya kembali."
        ),
        "opted_out_draft": "Laporan yang sedang Anda buat dibatalkan.",
        "opted_in": "Baik, nomor ini akan menerima pemberitahuan dari kami lagi.",
        "opted_in_start": " Ketik HALO untuk membuat laporan.",
        "no_documents": "belum ada",
        "on": "ya",
        "off": "tidak",
        "this_number": "nomor WhatsApp ini",
    },
    Language.ENGLISH: {
        "welcome": (
            "Welcome to the Lapor Mas Wapres complaint desk. We will guide you step by step"
            " (type CANCEL at any time to stop). If you know the format, you can also send one"
            " message: LAPOR#Name#NIK#City#Your complaint"
        ),
        "expired": "Your previous conversation is older than 24 hours, so we start again.",
        Step.NAME: "What is your full name as on your ID card (KTP)?",
        Step.NIK: "What is your NIK (the 16 digits on your KTP)?",
        Step.CONTACT: (
            "How can we reach you? Reply YES to use this WhatsApp number, or type another"
            " phone number or email address."
        ),
        Step.REGION: (
            "Where is the problem? Type the city or regency (e.g. Jakarta Pusat, Kab. Bogor),"
            " with the street address if you like (e.g. Jl. Merdeka 5, Kota Bandung), or send"
            " a location with the attachment button (📎 → Location)."
        ),
        "place_choices": (
            "Several cities or regencies have that name. Reply with the number:\n{choices}\n"
            "Or type the place again in full."
        ),
        "place_unknown": (
            "We do not recognise that place. Type the city or regency (e.g. Jakarta Pusat,"
            " Kab. Bogor, Kota Tegal), or send a location with the attachment button."
        ),
        "pin_confirm": "Location: {place} — is that right? Reply YES or NO.",
        "pin_denied": "All right. Type the city or regency where the problem is.",
        "pin_unknown": (
            "We cannot place that location in any city or regency of Indonesia. Type the city"
            " or regency where the problem is."
        ),
        "pin_later": "We will ask where the problem is later; please answer this question first.",
        Step.CHRONOLOGY: "Tell us what happened: what, when, where and who was involved.",
        Step.DOCUMENTS: (
            "Send supporting documents (photos or PDFs) one by one. Type DONE when finished, or"
            " SKIP if you have none yet (documents may follow within 10 days)."
        ),
        "summary": (
            "Please check your report:\nName: {name}\nNIK: {nik}\nContact: {contact}\n"
            "Location: {region}\nWhat happened: {description}\nDocuments: {documents}\n"
            "Anonymous (identity not shown to the agency): {anonymous}\n"
            "Secret (content never public): {secret}\n"
            "Reply YES to send it, ANONYMOUS or SECRET to switch that option, or CANCEL to"
            " discard it."
        ),
        "confirm_again": "Reply YES to send your report, or CANCEL to discard it.",
        "filed": (
            "Thank you, we have received your report. Your tracking code is {code}."
            " Keep it to follow your report. Missing documents may follow within 10 days:"
            " send a photo or PDF with the caption TAMBAH#{code}"
        ),
        "follow_up_format": (
            "To add information or documents: TAMBAH#tracking code#text, or send a photo or"
            " PDF with the caption TAMBAH#tracking code."
        ),
        "follow_up_unknown": "We found no report with that code from this WhatsApp number.",
        "follow_up_refused": "We cannot take this addition: {reason}.",
        "follow_up_done": "We have added this to report {code}.",
        "status_unknown": "We found no report with that code. Please check it.",
        "too_many_messages": (
            "You have sent too many messages. We will not process more from this number for"
            " an hour; please continue later."
        ),
        "too_many_reports": (
            "Too many reports from this number or NIK in the last hour, so this one was not"
            " taken. Please send it again later."
        ),
        "cancelled": "Your report was discarded. Send any message to start again.",
        "bad_name": "A name has 2 to 200 letters. What is your full name as on your KTP?",
        "bad_nik": "That NIK is not right ({reason}). Please send the 16 digits on your KTP.",
        "bad_contact": (
            "We could not read that number or email. Reply YES to use this WhatsApp number,"
            " or type a phone number (e.g. 0812...) or an email address."
        ),
        "bad_region": "Please type the city or regency (3 to 500 characters).",
        "bad_chronology": (
            "That is too short. Please tell us at least 20 characters: what happened, when"
            " and where."
        ),
        "document_saved": "Document {count} saved. Send another, or type DONE.",
        "document_kept": "We kept this document for your report.",
        "too_many_documents": "At most 10 documents per report; this one was not kept.",
        "documents_hint": "Send a photo or PDF, or type DONE when finished.",
        "unsupported": (
            "Sorry, we cannot read this kind of message ({kind}) yet. Please send text; photos"
            " and PDFs are welcome as supporting documents."
        ),
        "unsupported_start": " Type HELLO to start a report.",
        "structured_format": (
            "The one-message format is incomplete. Use: LAPOR#Name#NIK#City#Your complaint."
        ),
        "opted_out": (
            "All right, this number will get no more notifications from us. Type START to"
            " receive them again."
        ),
        "opted_out_draft": "The report you were writing was discarded.",
        "opted_in": "All right, this number will get our notifications again.",
        "opted_in_start": " Type HELLO to start a report.",
        "no_documents": "none yet",
        "on": "yes",
        "off": "no",
        "this_number": "this WhatsApp number",
    },
}


def _t(language: Language, key: str, **values: object) -> str:
    return _TEXTS[language][key].format(**values)


def _words(text: str) -> str:
    return " ".join(text.strip().lower().split()).strip(".!")


def _draft_id(message: InboundMessage) -> uuid.UUID:
    return uuid.uuid5(WHATSAPP_NAMESPACE, f"draft:{message.message_id}")


def _attachment(message: InboundMessage) -> Attachment | None:
    if message.media is None or message.kind not in USABLE_MEDIA:
        return None
    return Attachment(
        attachment_id=f"whatsapp:{message.media.media_id}",
        media_type=message.media.mime_type,
        filename=message.media.filename,
        size_bytes=message.media.size_bytes,
        sha256=message.media.sha256,
    )


def _submission(draft: Draft) -> Submission:
    place = regency(draft.region_code) if draft.region_code else None
    if place is not None:
        city, address = place.name, draft.address
    else:  # a draft begun before places were matched: the text as typed
        city = draft.region if draft.region and len(draft.region) <= 120 else None
        address = None if city else draft.region
    return Submission(
        channel=Channel.WHATSAPP,
        name=draft.name or "",
        nik=draft.nik,
        phone=draft.phone,
        email=draft.email,
        description=draft.description or "",
        region_code=place.code if place else None,
        city=city,
        address=address,
        latitude=draft.latitude if place else None,
        longitude=draft.longitude if place else None,
        language=draft.language,
        attachments=draft.attachments,
        anonymous=draft.anonymous,
        secret=draft.secret,
    )


def _summary(draft: Draft) -> str:
    language = draft.language
    return _t(
        language,
        "summary",
        name=draft.name,
        nik=draft.nik,
        contact=draft.email or draft.phone or _t(language, "this_number"),
        region=" — ".join(
            filter(None, (draft.region, draft.address if draft.region_code else None))
        ),
        description=_shortened(draft.description or "", 1500),
        documents=len(draft.attachments) or _t(language, "no_documents"),
        anonymous=_t(language, "on" if draft.anonymous else "off"),
        secret=_t(language, "on" if draft.secret else "off"),
    )


def _shortened(text: str, limit: int) -> str:
    """WhatsApp text messages hold 4096 characters; the summary quotes only the start."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _prompt(draft: Draft) -> str:
    return _summary(draft) if draft.step is Step.CONFIRM else _t(draft.language, draft.step)


def wa_phone(wa_id: str) -> str | None:
    try:
        return normalise_phone("+" + wa_id)
    except InvalidIdentity:
        return None


@dataclass(frozen=True)
class FollowUp:
    """`TAMBAH#<tracking code>#<text>`, as text or as a document's caption."""

    code_text: str
    text: str
    attachment: Attachment | None


def follow_up(message: InboundMessage) -> FollowUp | None:
    body = message.text if message.text is not None else None
    if body is None and message.media is not None:
        body = message.media.caption
    if not body or not body.strip().upper().startswith(FOLLOW_UP_PREFIX):
        return None
    parts = body.strip().split("#", 2)
    code = parts[1].strip() if len(parts) > 1 else ""
    text = parts[2].strip() if len(parts) > 2 else ""
    return FollowUp(code, text[:20_000], _attachment(message))


def follow_up_reply(language: Language, key: str, **values: object) -> str:
    return _t(language, key, **values)


def status_request(message: InboundMessage) -> str | None:
    """The code in `STATUS#<tracking code>`, or None when the message is not that."""
    text = (message.text or "").strip()
    if not text.upper().startswith(STATUS_PREFIX):
        return None
    return text[len(STATUS_PREFIX) :].strip()


def structured_report(message: InboundMessage, language: Language) -> Submission | str:
    """A `LAPOR#Nama#NIK#Kota#Isi` message as a submission, or the reply explaining the error."""
    parts = [part.strip() for part in (message.text or "").split("#", 4)]
    if len(parts) != 5 or not all(parts[1:]):
        return _t(language, "structured_format")
    _, name, nik_text, city, description = parts
    if not 2 <= len(name) <= 200:
        return _t(language, "bad_name")
    try:
        nik = check_nik(nik_text)
    except InvalidIdentity as error:
        return _t(language, "bad_nik", reason=error)
    if not 2 <= len(city) <= 120:
        return _t(language, "bad_region")
    if len(description) < MIN_CHRONOLOGY:
        return _t(language, "bad_chronology")
    place = match_place(city).regency  # not sure: the name as typed, and no region code
    return Submission(
        channel=Channel.WHATSAPP,
        name=name,
        nik=nik,
        phone=wa_phone(message.wa_id),
        email=None,
        description=description[:20_000],
        region_code=place.code if place else None,
        city=place.name if place else city,
        language=language,
    )


def handle_message(draft: Draft | None, message: InboundMessage, tracking_code: str) -> Outcome:
    """The next state and the replies for one inbound message.

    `tracking_code` is the code a complaint filed by this message would get (the caller draws
    it, so this stays pure and deterministic).
    """
    prefix: list[str] = []
    if draft is not None and message.sent_at - draft.last_message_at > WINDOW:
        prefix.append(_t(draft.language, "expired"))
        draft = None
    text = (message.text or "").strip()
    words = _words(text)
    intent = opt_out_intent(text) if message.text is not None else None
    if intent is not None:
        return _opt(draft, message, words, intent, prefix)

    if text.upper().startswith(STRUCTURED_PREFIX):
        language = draft.language if draft else Language.INDONESIAN
        result = structured_report(message, language)
        if isinstance(result, str):
            keep = draft.model_copy(update={"last_message_at": message.sent_at}) if draft else None
            complaint_id = draft.complaint_id if draft else _draft_id(message)
            return Outcome(keep, (*prefix, result), language, complaint_id)
        complaint_id = uuid.uuid5(WHATSAPP_NAMESPACE, f"complaint:{message.message_id}")
        filed = _t(language, "filed", code=tracking_code)
        return Outcome(None, (*prefix, filed), language, complaint_id, result)

    if draft is None:
        return _start(message, words, prefix)

    draft = draft.model_copy(update={"last_message_at": message.sent_at})
    language = draft.language
    if words in _CANCEL:
        return Outcome(None, (_t(language, "cancelled"),), language, draft.complaint_id)
    if words in _RESTART:
        return _start(message, words, [])
    if draft.step is Step.NAME and (words in _GREETINGS or words in _ENGLISH_GREETINGS):
        return Outcome(draft, (_t(language, Step.NAME),), language, draft.complaint_id)

    if message.kind in USABLE_MEDIA:
        return _media(draft, message)
    if message.location is not None:
        return _pin(draft, message.location)
    if message.text is None:
        reply = _t(language, "unsupported", kind=message.kind)
        return Outcome(draft, (reply, _prompt(draft)), language, draft.complaint_id)
    return _answer(draft, text, words, message, tracking_code)


def _opt(
    draft: Draft | None, message: InboundMessage, words: str, opt_out: bool, prefix: list[str]
) -> Outcome:
    """BERHENTI / STOP: opted out, and a report being written is discarded (as BATAL would);
    MULAI / START: opted back in, and a report being written goes on where it was. The reply
    is in the conversation's language, else in the language of the word (STOP: English)."""
    if draft is not None:
        language = draft.language
        complaint_id = draft.complaint_id
    else:
        english = words in _ENGLISH_OPT_WORDS
        language = Language.ENGLISH if english else Language.INDONESIAN
        complaint_id = _draft_id(message)
    replies = list(prefix)
    if opt_out:
        if draft is not None:
            replies.append(_t(language, "opted_out_draft"))
        replies.append(_t(language, "opted_out"))
        return Outcome(None, tuple(replies), language, complaint_id, opt_out=True)
    if draft is None:
        replies.append(_t(language, "opted_in") + _t(language, "opted_in_start"))
        return Outcome(None, tuple(replies), language, complaint_id, opt_out=False)
    draft = draft.model_copy(update={"last_message_at": message.sent_at})
    replies += [_t(language, "opted_in"), _prompt(draft)]
    return Outcome(draft, tuple(replies), language, complaint_id, opt_out=False)


def _start(message: InboundMessage, words: str, prefix: list[str]) -> Outcome:
    language = Language.ENGLISH if words in _ENGLISH_GREETINGS else Language.INDONESIAN
    complaint_id = _draft_id(message)
    if message.text is None and message.kind not in USABLE_MEDIA and message.location is None:
        reply = _t(language, "unsupported", kind=message.kind) + _t(language, "unsupported_start")
        return Outcome(None, (*prefix, reply), language, complaint_id)
    attachment = _attachment(message)
    draft = Draft(
        complaint_id=complaint_id,
        step=Step.NAME,
        language=language,
        attachments=(attachment,) if attachment else (),
        last_message_at=message.sent_at,
    )
    replies = [*prefix, _t(language, "welcome")]
    if attachment:
        replies.append(_t(language, "document_kept"))
    replies.append(_t(language, Step.NAME))
    return Outcome(draft, tuple(replies), language, complaint_id)


def _media(draft: Draft, message: InboundMessage) -> Outcome:
    language = draft.language
    attachment = _attachment(message)
    assert attachment is not None
    if len(draft.attachments) >= MAX_ATTACHMENTS:
        replies: tuple[str, ...] = (_t(language, "too_many_documents"), _prompt(draft))
        return Outcome(draft, replies, language, draft.complaint_id)
    draft = draft.model_copy(update={"attachments": (*draft.attachments, attachment)})
    if draft.step is Step.DOCUMENTS:
        replies = (_t(language, "document_saved", count=len(draft.attachments)),)
    else:
        replies = (_t(language, "document_kept"), _prompt(draft))
    return Outcome(draft, replies, language, draft.complaint_id)


def _advance(draft: Draft, **changes: object) -> Outcome:
    order = list(Step)
    next_step = order[order.index(draft.step) + 1]
    draft = draft.model_copy(update={**changes, "step": next_step})
    return Outcome(draft, (_prompt(draft),), draft.language, draft.complaint_id)


def _stay(draft: Draft, key: str, **values: object) -> Outcome:
    return Outcome(draft, (_t(draft.language, key, **values),), draft.language, draft.complaint_id)


def _answer(
    draft: Draft, text: str, words: str, message: InboundMessage, tracking_code: str
) -> Outcome:
    match draft.step:
        case Step.NAME:
            return _name(draft, text)
        case Step.NIK:
            try:
                return _advance(draft, nik=check_nik(text))
            except InvalidIdentity as error:
                return _stay(draft, "bad_nik", reason=error)
        case Step.CONTACT:
            return _contact(draft, text, words, message)
        case Step.REGION:
            return _place(draft, text, words)
        case Step.CHRONOLOGY:
            if len(text) < MIN_CHRONOLOGY:
                return _stay(draft, "bad_chronology")
            return _advance(draft, description=text[:20_000])
        case Step.DOCUMENTS:
            if words in _DONE or words in _NO:
                return _advance(draft)
            return _stay(draft, "documents_hint")
        case Step.CONFIRM:
            return _confirm(draft, words, tracking_code)
    raise AssertionError(f"unknown step {draft.step}")  # pragma: no cover


def _name(draft: Draft, text: str) -> Outcome:
    name = " ".join(text.split())
    if not 2 <= len(name) <= 200 or not any(ch.isalpha() for ch in name):
        return _stay(draft, "bad_name")
    return _advance(draft, name=name)


def _contact(draft: Draft, text: str, words: str, message: InboundMessage) -> Outcome:
    """YES: this WhatsApp number; else the email or phone number the citizen typed."""
    if words in _YES:
        phone = wa_phone(message.wa_id)
        return _advance(draft, phone=phone) if phone else _stay(draft, "bad_contact")
    if "@" in text:
        try:
            email = check_email(text)
        except InvalidIdentity:
            return _stay(draft, "bad_contact")
        return _advance(draft, email=email, phone=wa_phone(message.wa_id))
    try:
        return _advance(draft, phone=normalise_phone(text))
    except InvalidIdentity:
        return _stay(draft, "bad_contact")


def _confirm(draft: Draft, words: str, tracking_code: str) -> Outcome:
    """The summary's answer: file, cancel, or toggle anonymous / secret and show it again."""
    if words in _YES:
        filed = _t(draft.language, "filed", code=tracking_code)
        return Outcome(None, (filed,), draft.language, draft.complaint_id, _submission(draft))
    if words in _NO:
        return Outcome(None, (_t(draft.language, "cancelled"),), draft.language, draft.complaint_id)
    if words in _ANONYMOUS or words in _SECRET:
        flag = "anonymous" if words in _ANONYMOUS else "secret"
        draft = draft.model_copy(update={flag: not getattr(draft, flag)})
        return Outcome(draft, (_summary(draft),), draft.language, draft.complaint_id)
    return _stay(draft, "confirm_again")


def _label(place: Regency) -> str:
    return f"{place.name}, {place.province.name}"


def _chosen(draft: Draft, place: Regency, **changes: object) -> Outcome:
    return _advance(
        draft,
        region=_label(place),
        region_code=place.code,
        place_choices=(),
        pin_pending=False,
        **changes,
    )


def _place(draft: Draft, text: str, words: str) -> Outcome:
    """The answer to "where is the problem": YES / NO to a pin's regency, a number from the
    choices offered, or a typed place."""
    if draft.pin_pending and (words in _YES or words in _NO):
        if words in _YES:
            pinned = regency(draft.place_choices[0])
            assert pinned is not None
            return _chosen(draft, pinned)
        cleared = {"place_choices": (), "pin_pending": False, "address": None}
        draft = draft.model_copy(update={**cleared, "latitude": None, "longitude": None})
        return _stay(draft, "pin_denied")
    if draft.place_choices and not draft.pin_pending and words.isdigit():
        number = int(words)
        if 1 <= number <= len(draft.place_choices):
            chosen = regency(draft.place_choices[number - 1])
            assert chosen is not None
            return _chosen(draft, chosen)
    return _typed_place(draft, " ".join(text.split()))


def _typed_place(draft: Draft, text: str) -> Outcome:
    typed = {"pin_pending": False, "latitude": None, "longitude": None}
    if not 3 <= len(text) <= 500:
        return _stay(draft.model_copy(update={**typed, "place_choices": ()}), "bad_region")
    found, address, candidates = place_in(text)
    if found is not None:
        return _chosen(draft, found, address=address, latitude=None, longitude=None)
    draft = draft.model_copy(
        update={**typed, "place_choices": tuple(c.code for c in candidates), "address": address}
    )
    if not candidates:
        return _stay(draft, "place_unknown")
    choices = "\n".join(f"{n}. {_label(c)}" for n, c in enumerate(candidates, 1))
    return _stay(draft, "place_choices", choices=choices)


def place_in(text: str) -> tuple[Regency | None, str | None, tuple[Regency, ...]]:
    """(regency, the rest as a street address, candidates) for a typed answer such as
    "Jl. Merdeka 5, Kota Bandung": the whole text, else the comma-separated part (last first)
    that names one regency; failing that, the candidates of the first ambiguous name."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    whole = match_place(text)
    if whole.regency is not None:
        return whole.regency, None, ()
    matches = [(index, match_place(parts[index])) for index in reversed(range(len(parts)))]
    if len(parts) > 1:
        for index, match in matches:
            if match.regency is not None:
                rest = ", ".join(parts[:index] + parts[index + 1 :])
                return match.regency, rest[:500] or None, ()
    if whole.candidates:
        return None, None, whole.candidates
    for index, match in matches:
        if match.candidates:
            rest = ", ".join(parts[:index] + parts[index + 1 :])
            return None, rest[:500] or None, match.candidates
    return None, None, ()


def _pin(draft: Draft, pin: Pin) -> Outcome:
    """A location pin: placed in its regency offline, then confirmed with the citizen."""
    if draft.step is not Step.REGION:
        replies = (_t(draft.language, "pin_later"), _prompt(draft))
        return Outcome(draft, replies, draft.language, draft.complaint_id)
    found = regency_at(pin.latitude, pin.longitude)
    if found is None:
        update = {"place_choices": (), "pin_pending": False}
        return _stay(draft.model_copy(update=update), "pin_unknown")
    address = ", ".join(filter(None, (pin.name, pin.address)))[:500] or None
    pinned = {"latitude": pin.latitude, "longitude": pin.longitude, "address": address}
    draft = draft.model_copy(update={**pinned, "place_choices": (found.code,), "pin_pending": True})
    return _stay(draft, "pin_confirm", place=_label(found))
