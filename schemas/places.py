"""Turning what a citizen says about where a problem is into a regency, pure and offline.

- `match_place("Jkt Barat")`: a typed place name, as people type it (abbreviations, "Kab."
  or "Kabupaten" or nothing, "Kota X", nicknames, old names, typos), matched against the
  shared table in `schemas.regions`. The answer is a confident single regency, or several
  candidates to ask the citizen about (a bare name that is both a kota and a kabupaten, such
  as "Bandung", is always asked, never guessed), or nothing.
- `regency_at(latitude, longitude)`: a location pin's regency, from the nearest of the
  reference points shipped in `place_points.csv` (see `scripts/place_points.py` for where
  they come from). A nearest point is a good guess, not a boundary test: near a border it may
  name the neighbour, so callers confirm it with the citizen.

Intake uses both (WhatsApp's typed place and location pin, `LAPOR#…#Kota#…`); any service
that must turn a place name into a Kemendagri code uses `match_place`.
"""

from __future__ import annotations

import csv
import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from schemas.regions import Province, Regency, provinces, regencies, regency

# A typed name at or above this rapidfuzz ratio (0-100) is taken when no other name comes
# within `_MARGIN` of it; names from `_SUGGEST` up are offered as candidates.
_CONFIDENT = 88.0
_MARGIN = 6.0
_SUGGEST = 72.0
MAX_CANDIDATES = 5
# A pin farther than this from every reference point (at sea, abroad) is not placed.
MAX_PIN_DISTANCE_KM = 60.0
POINTS_FILE = Path(__file__).with_name("place_points.csv")

# Whole phrases first (before words are expanded), then single words.
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bdki\b", ""),
    (r"\bdaerah khusus (ibu ?kota )?", ""),
    (r"\bkota (adm|administrasi|administratif)\b", "kota"),
    (r"\bkab(upaten)? (adm|administrasi|administratif)\b", "kabupaten"),
    (r"\b(pulau|pulau2|kep|kepulauan) seribu\b", "kepulauan seribu"),
    (r"\bujung ?pandang\b", "makassar"),
    (r"\b(daerah istimewa|di|d i) (yogyakarta|jogja|jogjakarta|yogya|jogya)\b", "yogyakarta"),
    (r"\bcity of (\w+)", r"kota \1"),
    (r"\bregency of (\w+)", r"kabupaten \1"),
    (r"^(di|ke|dari|daerah|wilayah|lokasi|in|at) ", ""),
    (r"\b(tengah jakarta|jakarta tengah)\b", "jakarta pusat"),
)
_WORDS: dict[str, str] = {
    "kab": "kabupaten",
    "kb": "kabupaten",
    "kabupatén": "kabupaten",
    "regency": "kabupaten",
    "kot": "kota",
    "kt": "kota",
    "kodya": "kota",
    "kotamadya": "kota",
    "kotamadia": "kota",
    "city": "kota",
    "jkt": "jakarta",
    "jak": "jakarta",
    "jakbar": "jakarta barat",
    "jaksel": "jakarta selatan",
    "jaktim": "jakarta timur",
    "jakut": "jakarta utara",
    "jakpus": "jakarta pusat",
    "jogja": "yogyakarta",
    "jogjakarta": "yogyakarta",
    "jogya": "yogyakarta",
    "yogya": "yogyakarta",
    "yogja": "yogyakarta",
    "djokja": "yogyakarta",
    "kep": "kepulauan",
    "kepl": "kepulauan",
    "pulau2": "kepulauan",
    "tg": "tanjung",
    "tj": "tanjung",
    "tanjong": "tanjung",
    "bdg": "bandung",
    "sby": "surabaya",
    "smg": "semarang",
    "mks": "makassar",
    "mksr": "makassar",
    "makasar": "makassar",
    "mdn": "medan",
    "bks": "bekasi",
    "tng": "tangerang",
    "tangsel": "tangerang selatan",
    "jabodetabek": "jakarta",
    "solo": "surakarta",
    "bpn": "balikpapan",
    "plg": "palembang",
    "pku": "pekanbaru",
    "dps": "denpasar",
    "mlg": "malang",
    "btm": "batam",
    "sda": "sidoarjo",
    "west": "barat",
    "east": "timur",
    "north": "utara",
    "south": "selatan",
    "central": "tengah",
    "centre": "tengah",
    "center": "tengah",
    "northwest": "barat laut",
    "southwest": "barat daya",
}
# English "West Jakarta" and "South Tangerang" name the direction first.
_DIRECTIONS = {"barat", "timur", "utara", "selatan", "tengah"}
# Old names, and towns people name for their regency, to today's regency (normalised name).
_ALSO_KNOWN_AS: dict[str, str] = {
    "toba samosir": "kabupaten toba",
    "mamuju utara": "kabupaten pasangkayu",
    "maluku tenggara barat": "kabupaten kepulauan tanimbar",
    "batavia": "jakarta",
    "buitenzorg": "kota bogor",
    "bumi serpong damai": "kota tangerang selatan",
    "bsd": "kota tangerang selatan",
    "serpong": "kota tangerang selatan",
    "cikarang": "kabupaten bekasi",
    "cibinong": "kabupaten bogor",
    "soreang": "kabupaten bandung",
    "sleman yogyakarta": "kabupaten sleman",
    "bantul yogyakarta": "kabupaten bantul",
}
_PROVINCE_ALIASES: dict[str, str] = {
    "jabar": "jawa barat",
    "jateng": "jawa tengah",
    "jatim": "jawa timur",
    "diy": "yogyakarta",
    "sumut": "sumatera utara",
    "sumbar": "sumatera barat",
    "sumsel": "sumatera selatan",
    "kalbar": "kalimantan barat",
    "kalteng": "kalimantan tengah",
    "kalsel": "kalimantan selatan",
    "kaltim": "kalimantan timur",
    "kaltara": "kalimantan utara",
    "sulut": "sulawesi utara",
    "sulteng": "sulawesi tengah",
    "sulsel": "sulawesi selatan",
    "sultra": "sulawesi tenggara",
    "sulbar": "sulawesi barat",
    "babel": "kepulauan bangka belitung",
    "bangka belitung": "kepulauan bangka belitung",
    "kepri": "kepulauan riau",
    "malut": "maluku utara",
    "ntb": "nusa tenggara barat",
    "ntt": "nusa tenggara timur",
    "sumatra utara": "sumatera utara",
    "sumatra barat": "sumatera barat",
    "sumatra selatan": "sumatera selatan",
}


@dataclass(frozen=True)
class PlaceMatch:
    """The regency a place name means, or the candidates to ask about (best first)."""

    regency: Regency | None
    candidates: tuple[Regency, ...] = ()

    @property
    def found(self) -> bool:
        return self.regency is not None


@dataclass(frozen=True)
class _Query:
    core: str  # "bandung barat"
    kind: str | None  # "kota", "kabupaten" or None
    province: Province | None


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, abbreviations and nicknames expanded."""
    text = text.lower().replace("&", " dan ")
    text = re.sub(r"[^\w\s]", " ", text)
    text = " ".join(text.replace("_", " ").split())
    words: list[str] = []
    for word in text.split():
        words.extend(_WORDS.get(word, word).split())
    text = " ".join(words)
    for pattern, replacement in _PHRASES:
        text = re.sub(pattern, replacement, text)
    return " ".join(text.split())


def _core(name: str) -> str:
    """A regency's name without "Kab."/"Kota", normalised ("Kab. Bandung Barat" → "bandung
    barat")."""
    return normalise(re.sub(r"^(Kab\.|Kota)\s+", "", name))


@functools.cache
def _index() -> dict[str, tuple[Regency, ...]]:
    """Core name (and each name in parentheses, as "(Sitaro)") → the regencies called so."""
    index: dict[str, list[Regency]] = {}
    for item in regencies():
        names = [item.name.split("(")[0]]
        names += re.findall(r"\(([^)]*)\)", item.name)
        for name in names:
            index.setdefault(_core(name), []).append(item)
    return {core: tuple(items) for core, items in index.items()}


@functools.cache
def _province_names() -> dict[str, Province]:
    """Normalised province names ("jakarta", "jawa barat") and their short forms ("jabar")."""
    names = {normalise(p.name): p for p in provinces()}
    for alias, name in _PROVINCE_ALIASES.items():
        names[alias] = names[name]
    return names


def _kind_and_core(text: str) -> tuple[str | None, str]:
    """("kota", "bogor") for "kota bogor" and for "bogor kota" ("Bogor city")."""
    words = text.split()
    if words and words[0] in ("kota", "kabupaten"):
        return words[0], " ".join(words[1:])
    if len(words) > 1 and words[-1] in ("kota", "kabupaten"):
        return words[-1], " ".join(words[:-1])
    return None, text


def _query(text: str) -> _Query:
    text = _direction_last(normalise(text))
    text = _ALSO_KNOWN_AS.get(text, text)
    province: Province | None = None
    if _kind_and_core(text)[1] not in _index():
        # "Bandung, Jawa Barat", "Banjar Kalsel": a trailing province narrows the choice.
        for name, candidate in sorted(_province_names().items(), key=lambda i: -len(i[0])):
            rest = text.removesuffix(" " + name)
            if rest != text and _kind_and_core(rest)[1]:
                province, text = candidate, _ALSO_KNOWN_AS.get(rest, rest)
                break
    kind, core = _kind_and_core(text)
    return _Query(core, kind, province)


def _direction_last(text: str) -> str:
    """English names the direction first: "barat jakarta" (West Jakarta) → "jakarta barat"."""
    kind, core = _kind_and_core(text)
    words = core.split()
    if core in _index() or len(words) != 2 or words[0] not in _DIRECTIONS:
        return text
    return " ".join(filter(None, (kind, words[1], words[0])))


def _narrowed(found: tuple[Regency, ...], query: _Query) -> tuple[Regency, ...]:
    """Only the kind and province the citizen named, unless that leaves nothing."""
    if query.province is not None:
        found = tuple(r for r in found if r.province == query.province) or found
    if query.kind is not None:
        kept = tuple(r for r in found if r.is_city == (query.kind == "kota"))
        found = kept or found
    return found


def _answer(found: tuple[Regency, ...]) -> PlaceMatch:
    unique = tuple(dict.fromkeys(found))
    if len(unique) == 1:
        return PlaceMatch(unique[0], unique)
    return PlaceMatch(None, unique[:MAX_CANDIDATES])


def match_place(text: str) -> PlaceMatch:
    """The regency a typed place name means (see the module docstring)."""
    query = _query(text)
    if len(query.core) < 3:
        return PlaceMatch(None)
    index = _index()
    exact = index.get(query.core)
    if exact:
        return _answer(_narrowed(exact, query))
    # "Jakarta", "Jakarta Raya": every regency whose name starts with it.
    prefix = query.core.removesuffix(" raya") + " "
    starting = tuple(r for core, items in index.items() if core.startswith(prefix) for r in items)
    if starting:
        return PlaceMatch(None, _narrowed(starting, query)[:MAX_CANDIDATES])
    return _fuzzy(query, index)


def _fuzzy(query: _Query, index: dict[str, tuple[Regency, ...]]) -> PlaceMatch:
    scored = process.extract(query.core, list(index), scorer=fuzz.ratio, limit=8)
    scored = [(core, score) for core, score, _ in scored if score >= _SUGGEST]
    if not scored:
        return PlaceMatch(None)
    best = scored[0][1]
    close = [core for core, score in scored if best - score < _MARGIN]
    found = _narrowed(tuple(r for core in close for r in index[core]), query)
    if best >= _CONFIDENT and len(close) == 1:
        return _answer(found)
    offered = [core for core, _ in scored]
    everything = _narrowed(tuple(r for core in offered for r in index[core]), query)
    return PlaceMatch(None, tuple(dict.fromkeys(everything))[:MAX_CANDIDATES])


@dataclass(frozen=True)
class _Point:
    latitude: float
    longitude: float
    regency_code: str


@functools.cache
def _points() -> tuple[_Point, ...]:
    with POINTS_FILE.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return tuple(
            _Point(float(row["latitude"]), float(row["longitude"]), row["regency_code"])
            for row in rows
        )


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def regency_at(latitude: float, longitude: float) -> Regency | None:
    """The regency of a location pin: that of the nearest reference point, or None when no
    point is within `MAX_PIN_DISTANCE_KM` (the pin is outside Indonesia or far at sea)."""
    # A cheap equirectangular pre-filter, then the exact distance for the closest few.
    scale = math.cos(math.radians(latitude))
    ranked = sorted(
        _points(),
        key=lambda p: (p.latitude - latitude) ** 2 + ((p.longitude - longitude) * scale) ** 2,
    )[:5]
    if not ranked:
        return None
    nearest = min(ranked, key=lambda p: distance_km(latitude, longitude, p.latitude, p.longitude))
    if distance_km(latitude, longitude, nearest.latitude, nearest.longitude) > MAX_PIN_DISTANCE_KM:
        return None
    return regency(nearest.regency_code)


CLUSTER_KM = 20.0  # a regency's reference points this close together count as one place


@functools.cache
def _regency_points() -> dict[str, tuple[float, float]]:
    """Per regency, the reference point with the most of its regency's points near it (the
    table also holds a few same-named places elsewhere, so a mean would wander off)."""
    by_code: dict[str, list[_Point]] = {}
    for point in _points():
        by_code.setdefault(point.regency_code, []).append(point)
    return {code: _densest(points) for code, points in by_code.items()}


def _densest(points: list[_Point]) -> tuple[float, float]:
    def neighbours(point: _Point) -> int:
        return sum(
            distance_km(point.latitude, point.longitude, other.latitude, other.longitude)
            <= CLUSTER_KM
            for other in points
        )

    best = max(points, key=neighbours)
    return best.latitude, best.longitude


def regency_point(code: str) -> tuple[float, float] | None:
    """A regency's reference point (a place the public may be shown for any problem in the
    regency, never a citizen's pin); None if the table has none for it."""
    return _regency_points().get(code[:5])
