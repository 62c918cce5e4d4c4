"""Triage's pure domain: validate, filter pranks, classify. No I/O here.

Each rule that fires gives a reason code and a score. Clear cases are decided automatically;
the grey zone goes to human review.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from schemas.events import Category, ComplaintReceivedPayload, Priority, ReasonCode
from schemas.identity import InvalidIdentity, check_nik, region_of_nik

MIN_DESCRIPTION_WORDS = 5
REJECT_SCORE = 1.0
REVIEW_SCORE = 0.5

GREETINGS = frozenset(
    {
        "p",
        "ping",
        "tes",
        "test",
        "testing",
        "halo",
        "hallo",
        "hai",
        "hi",
        "hello",
        "assalamualaikum",
        "selamat pagi",
        "selamat siang",
        "selamat malam",
        "permisi",
        "cek",
        "coba",
    }
)

# Phrases seen in the prank flood the real desk received.
PRANK_PHRASES = (
    "lumpur lapindo",
    "hentikan lumpur",
    "bertengkar dengan istri",
    "bertengkar dengan suami",
    "istri saya marah",
    "suami saya marah",
    "pacar saya",
    "mantan saya",
    "minta pulsa",
    "minta jodoh",
    "cari jodoh",
    "wkwk",
    "hahaha",
    "prank",
    "iseng",
)

# Category lexicon: stems and phrases, matched on normalised words.
CATEGORY_TERMS: dict[Category, tuple[str, ...]] = {
    Category.LAND: (
        "tanah",
        "sertifikat",
        "sengketa lahan",
        "lahan",
        "bpn",
        "girik",
        "mafia tanah",
        "agraria",
    ),
    Category.EDUCATION: (
        "sekolah",
        "ijazah",
        "guru",
        "murid",
        "siswa",
        "kuliah",
        "pendidikan",
        "spp",
        "ppdb",
    ),
    Category.HEALTH: ("rumah sakit", "puskesmas", "dokter", "obat", "pasien", "kesehatan", "bidan"),
    Category.SOCIAL_ASSISTANCE: (
        "bansos",
        "dtks",
        "pkh",
        "bantuan sosial",
        "blt",
        "sembako",
        "kip",
    ),
    Category.INFRASTRUCTURE: (
        "jalan rusak",
        "jalan",
        "jembatan",
        "lubang",
        "drainase",
        "banjir",
        "trotoar",
    ),
    Category.POPULATION_ADMINISTRATION: (
        "ktp",
        "kartu keluarga",
        "akta",
        "dukcapil",
        "e-ktp",
        "nik ganda",
    ),
    Category.EMPLOYMENT: (
        "gaji",
        "phk",
        "pesangon",
        "upah",
        "buruh",
        "karyawan",
        "tenaga kerja",
        "thr",
    ),
    Category.CORRUPTION: ("pungli", "pungutan liar", "korupsi", "suap", "gratifikasi", "pemerasan"),
    Category.PUBLIC_ORDER: ("preman", "keributan", "tawuran", "pencurian", "begal", "narkoba"),
    Category.ENVIRONMENT: (
        "sampah",
        "limbah",
        "pencemaran",
        "polusi",
        "penebangan",
        "tambang ilegal",
    ),
    Category.UTILITIES: ("listrik", "pln", "pdam", "air bersih", "token", "padam"),
}

URGENT_TERMS = (
    "kekerasan",
    "dianiaya",
    "penganiayaan",
    "ancaman",
    "diancam",
    "bencana",
    "longsor",
    "kebakaran",
    "meninggal",
    "darurat",
    "nyawa",
    "pemerkosaan",
    "penculikan",
)


class Verdict(StrEnum):
    ACCEPT = "accept"
    REVIEW = "review"
    REJECT = "reject"


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    reasons: tuple[ReasonCode, ...]
    category: Category
    priority: Priority
    matched_terms: tuple[str, ...]
    region_code: str | None
    warnings: tuple[str, ...] = field(default=())


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation to spaces, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^a-z0-9\-]+", " ", folded).split())


def _contains(normalised: str, term: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(term)}", normalised) is not None


def classify(text: str) -> tuple[Category, tuple[str, ...]]:
    """The category with most matched terms (ties go to the earlier category), and the terms."""
    normalised = normalise(text)
    best, best_terms = Category.OTHER, ()
    for category, terms in CATEGORY_TERMS.items():
        matched = tuple(term for term in terms if _contains(normalised, term))
        if len(matched) > len(best_terms):
            best, best_terms = category, matched
    return best, best_terms


def priority_of(text: str) -> tuple[Priority, tuple[str, ...]]:
    normalised = normalise(text)
    matched = tuple(term for term in URGENT_TERMS if _contains(normalised, term))
    return (Priority.URGENT if matched else Priority.NORMAL), matched


def assess(complaint: ComplaintReceivedPayload) -> Assessment:
    reasons: list[ReasonCode] = []
    warnings: list[str] = []
    text = complaint.description
    normalised = normalise(text)

    if normalised in GREETINGS or len(normalised) <= 2:
        reasons.append(
            ReasonCode(code="test_or_greeting", detail="pesan uji coba atau salam", score=1.0)
        )
    elif len(normalised.split()) < MIN_DESCRIPTION_WORDS:
        reasons.append(
            ReasonCode(code="description_too_short", detail="kronologi terlalu singkat", score=1.0)
        )
    pranks = [phrase for phrase in PRANK_PHRASES if _contains(normalised, phrase)]
    if pranks:
        reasons.append(
            ReasonCode(
                code="prank_phrase",
                detail="mengandung frasa laporan iseng",
                score=0.6 * len(pranks),
            )
        )

    region = complaint.location.region_code
    nik = complaint.reporter.nik
    if nik is None and complaint.channel != "whatsapp":
        reasons.append(ReasonCode(code="nik_missing", detail="NIK wajib diisi", score=1.0))
    elif nik is not None:
        try:
            check_nik(nik)
            region = region or region_of_nik(nik)
        except InvalidIdentity as error:
            reasons.append(ReasonCode(code="nik_invalid", detail=str(error), score=1.0))
    if complaint.reporter.phone is None and complaint.reporter.email is None:
        reasons.append(
            ReasonCode(code="contact_missing", detail="nomor HP atau email wajib", score=1.0)
        )

    if complaint.eligibility.in_court:
        reasons.append(
            ReasonCode(
                code="in_court", detail="perkara sedang/pernah diproses pengadilan", score=1.0
            )
        )
    if complaint.eligibility.filed_before:
        reasons.append(
            ReasonCode(code="filed_before", detail="laporan pernah diajukan sebelumnya", score=0.5)
        )
    if (
        not complaint.eligibility.experienced_directly
        and not complaint.eligibility.has_power_of_attorney
    ):
        reasons.append(
            ReasonCode(
                code="not_directly_affected",
                detail="bukan pihak yang mengalami langsung",
                score=0.5,
            )
        )

    category, terms = classify(text)
    priority, urgent_terms = priority_of(text)
    score = sum(reason.score for reason in reasons)
    verdict = (
        Verdict.REJECT
        if score >= REJECT_SCORE
        else Verdict.REVIEW
        if score >= REVIEW_SCORE
        else Verdict.ACCEPT
    )
    return Assessment(
        verdict=verdict,
        reasons=tuple(reasons),
        category=category,
        priority=priority,
        matched_terms=terms + urgent_terms,
        region_code=region,
        warnings=tuple(warnings),
    )
