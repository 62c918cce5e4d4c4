"""The citizen's answer to the closing message, pure: reading PUAS / TIDAK PUAS (SATISFIED /
NOT SATISFIED, a 1-5 score) from what they typed, the 10-day window after a closing, and the
replies. No I/O here.

Decisions (docs/intake.md): a score of 3-5 counts as satisfied, 1-2 as not satisfied (a
refusal re-opens the case, so only a clear one does); with both a word and a score, the word
decides and the score is kept. One answer per complaint and closing counts, the first; a
second gets a polite "already recorded".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.events import Language
from services.intake.domain.limits import subject

ANSWER_WINDOW = timedelta(days=10)  # answers are taken within 10 days of the closing
SATISFIED_WORDS = frozenset(
    {
        "puas",
        "sangat puas",
        "puas sekali",
        "sudah puas",
        "ya puas",
        "satisfied",
        "very satisfied",
        "yes satisfied",
    }
)
NOT_SATISFIED_WORDS = frozenset(
    {
        "tidak puas",
        "tdk puas",
        "tak puas",
        "gak puas",
        "ga puas",
        "nggak puas",
        "ngga puas",
        "enggak puas",
        "kurang puas",
        "belum puas",
        "sangat tidak puas",
        "not satisfied",
        "unsatisfied",
        "dissatisfied",
        "not satisfied at all",
    }
)
_SCORE = re.compile(r"^(?:(?:nilai|skor|score|rating)\s*)?([1-5])(?:\s*(?:/|dari|of|out of)\s*5)?$")
_LONGEST_ANSWER = 40  # longer messages are a new conversation, not an answer


def contact_subject(key: str, phone: str) -> str:
    """What a complaint keeps to be found by its reporter's WhatsApp number: the keyed hash
    the per-reporter limits count (never the number). `phone` is E.164 ("+62811...")."""
    return subject(key, "phone", phone)


@dataclass(frozen=True)
class Answer:
    satisfied: bool
    score: int | None = None
    bare_score: bool = False  # a number alone: inside an open conversation it is a choice


def _normalised(text: str) -> str:
    """Lower case, punctuation and emoji gone, spaces collapsed ("Tidak-puas!!" → "tidak
    puas"); the slash of "4/5" is kept."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch if ch.isalnum() or ch == "/" else " " for ch in folded)
    return " ".join(kept.split())


def _score(text: str) -> int | None:
    match = _SCORE.match(text)
    return int(match.group(1)) if match else None


def parse_answer(text: str | None) -> Answer | None:
    """The answer a message gives, or None when it is not one (then it is a conversation)."""
    if not text or len(text) > _LONGEST_ANSWER:
        return None
    words = _normalised(text)
    if not words:
        return None
    score = _score(words)
    if score is not None:
        return Answer(satisfied=score >= 3, score=score, bare_score=words.isdigit())
    for wordlist, satisfied in ((NOT_SATISFIED_WORDS, False), (SATISFIED_WORDS, True)):
        for phrase in wordlist:
            rest = words.removeprefix(phrase).strip() if words.startswith(phrase) else None
            if rest == "":
                return Answer(satisfied=satisfied)
            if rest is not None and (rest_score := _score(rest)) is not None:
                return Answer(satisfied=satisfied, score=rest_score)
    return None


def answer_window_open(closed_at: datetime, now: datetime) -> bool:
    """Answers are taken within 10 days of the closing."""
    return now <= closed_at + ANSWER_WINDOW


# The reply says only that the answer was recorded, TIDAK PUAS too: whether the case re-opens
# is routing's decision (not twice, not after a co-reporter's refusal re-opened it), and the
# citizen hears of a re-opening from the notifier, on routing's CaseStatusChanged.
REPLIES: dict[Language, dict[str, str]] = {
    Language.INDONESIAN: {
        "thanks": "Terima kasih. Penilaian Anda untuk pengaduan {code} sudah kami catat.",
        "already": "Penilaian Anda untuk pengaduan {code} sudah tercatat sebelumnya. Terima kasih.",
        "not_open": "Pengaduan {code} belum selesai atau batas waktu penilaian sudah lewat.",
    },
    Language.ENGLISH: {
        "thanks": "Thank you. Your rating of complaint {code} has been recorded.",
        "already": "Your rating of complaint {code} was already recorded. Thank you.",
        "not_open": "Complaint {code} is not closed, or the time to rate it has passed.",
    },
}


def reply(language: Language, key: str, code: str) -> str:
    return REPLIES[language][key].format(code=code)
