"""Documents citizens hand in (web uploads, WhatsApp media, additions), pure: what a file
is, decided by its first bytes (never the declared type or the filename), whether it may be
kept, and why not, in the citizen's language.

Only PDF, JPEG and PNG are kept; each at most `max_bytes`, at most `max_count` per request.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from schemas.events import Attachment, Language

# What a file must start with to be of a kept type.
SIGNATURES: dict[str, bytes] = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}


class Refusal(StrEnum):
    UNSUPPORTED_TYPE = "unsupported_type"
    TOO_LARGE = "too_large"
    TOO_MANY = "too_many"
    EMPTY = "empty"
    UNAVAILABLE = "unavailable"  # a WhatsApp media that could not be downloaded


class DocumentRefused(Exception):
    """A document not kept: why, and the file's name when it has one."""

    def __init__(self, reason: Refusal, name: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.name = name


def sniff(data: bytes) -> str | None:
    """The media type the content's magic bytes say, or None for anything not kept."""
    return next((kind for kind, magic in SIGNATURES.items() if data.startswith(magic)), None)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checked_document(
    data: bytes,
    *,
    max_bytes: int,
    attachment_id: str | None = None,
    filename: str | None = None,
) -> Attachment:
    """The attachment `data` makes (its type sniffed, its size and sha256); raises
    `DocumentRefused` when it is empty, too large or not a PDF, JPEG or PNG. Without an id,
    the id derives from the content (`upload:` + the digest's first 32 hex digits)."""
    name = (filename or "")[:200]
    if not data:
        raise DocumentRefused(Refusal.EMPTY, name)
    if len(data) > max_bytes:
        raise DocumentRefused(Refusal.TOO_LARGE, name)
    media_type = sniff(data)
    if media_type is None:
        raise DocumentRefused(Refusal.UNSUPPORTED_TYPE, name)
    digest = sha256_hex(data)
    return Attachment(
        attachment_id=attachment_id or f"upload:{digest[:32]}",
        media_type=media_type,
        filename=name or None,
        size_bytes=len(data),
        sha256=digest,
    )


def check_count(count: int, max_count: int) -> None:
    if count > max_count:
        raise DocumentRefused(Refusal.TOO_MANY)


_THE_FILE = {Language.INDONESIAN: "Berkas", Language.ENGLISH: "The file is"}

_TEXTS = {
    Language.INDONESIAN: {
        Refusal.UNSUPPORTED_TYPE: "hanya PDF, JPG atau PNG yang dapat kami terima.",
        Refusal.TOO_LARGE: "lebih dari {size}.",
        Refusal.TOO_MANY: "Paling banyak {count} berkas.",
        Refusal.EMPTY: "berkas kosong.",
        Refusal.UNAVAILABLE: "dokumen ini tidak dapat kami ambil dari WhatsApp. Silakan kirim"
        " ulang, atau unggah di halaman Tambah Informasi (/lapor/tambah).",
    },
    Language.ENGLISH: {
        Refusal.UNSUPPORTED_TYPE: "only PDF, JPG or PNG files are accepted.",
        Refusal.TOO_LARGE: "larger than {size}.",
        Refusal.TOO_MANY: "At most {count} files.",
        Refusal.EMPTY: "the file is empty.",
        Refusal.UNAVAILABLE: "we could not fetch this document from WhatsApp. Please send it"
        " again, or upload it on the Add information page (/lapor/tambah).",
    },
}


def size_text(size_bytes: int) -> str:
    """A size limit as a citizen reads it: whole MB, or KB below one MB."""
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes // (1024 * 1024)} MB"
    return f"{max(1, size_bytes // 1024)} KB"


def refusal_text(
    refused: DocumentRefused, language: Language, *, max_bytes: int, max_count: int
) -> str:
    """Why a document was not kept, in the citizen's language."""
    text = _TEXTS[language][refused.reason].format(size=size_text(max_bytes), count=max_count)
    if refused.name:
        return f"{refused.name}: {text}"
    if refused.reason is Refusal.TOO_LARGE:  # "Lebih dari 5 MB." alone does not say what
        return f"{_THE_FILE[language]} {text}"
    return text[0].upper() + text[1:]
