"""Open311 GeoReport v2, pure: the service catalogue and its attribute definitions, what a
complaint shows the public (docs/open311.md), and the spec's two wire formats (JSON, XML)
and error format. No I/O here.

Privacy decides what is public: only complaints triage accepted that are neither secret nor
anonymous are listed (`complaints.public`), never while held for review, rejected or joined
to another report; nothing personal is shown; the citizen's words only as the public summary
staff published; the place only as the incident's regency, its point the regency's reference
point (rounded to 0.01°, about 1 km), never the pin the citizen dropped.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from schemas.events import Category, ComplaintAccepted, Event, Language
from schemas.events.routing import CasePublicSummaryPublished
from schemas.places import regency_point
from schemas.regions import regency
from services.intake.domain.citizen_status import JAKARTA, label

ID, EN = Language.INDONESIAN, Language.ENGLISH
# Statuses a listed complaint may be in; held (under review), rejected or joined ones are not.
HIDDEN_STATUSES = ("received", "under_review", "rejected", "duplicate")
LIST_LIMIT = 1000  # the spec's default cap on a list's length
DEFAULT_DAYS = 90  # the spec's default window (and the most a start/end range may span)
POINT_DECIMALS = 2  # about 1.1 km: a regency's point, never a home


@dataclass(frozen=True)
class ServiceText:
    name: dict[Language, str]
    description: dict[Language, str]
    group: dict[Language, str]
    keywords: str


_BASIC = {ID: "Layanan dasar", EN: "Basic services"}
_PLACES = {ID: "Sarana dan lingkungan", EN: "Facilities and environment"}
_LAW = {ID: "Hukum dan ketertiban", EN: "Law and order"}
_OTHER = {ID: "Lainnya", EN: "Other"}


def _text(
    id_name: str,
    en_name: str,
    id_about: str,
    en_about: str,
    group: dict[Language, str],
    keywords: str,
) -> ServiceText:
    return ServiceText({ID: id_name, EN: en_name}, {ID: id_about, EN: en_about}, group, keywords)


SERVICES: dict[Category, ServiceText] = {
    Category.LAND: _text(
        "Pertanahan",
        "Land",
        "Sertifikat tanah, sengketa dan ganti rugi lahan.",
        "Land certificates, disputes and compensation.",
        _PLACES,
        "tanah,sertifikat,BPN,lahan,sengketa",
    ),
    Category.EDUCATION: _text(
        "Pendidikan",
        "Education",
        "Sekolah, PPDB, beasiswa, KIP dan tenaga pendidik.",
        "Schools, admissions, scholarships and teachers.",
        _BASIC,
        "sekolah,PPDB,beasiswa,KIP,guru",
    ),
    Category.HEALTH: _text(
        "Kesehatan",
        "Health",
        "Rumah sakit, puskesmas, BPJS Kesehatan dan obat.",
        "Hospitals, clinics, national health insurance and medicines.",
        _BASIC,
        "rumah sakit,puskesmas,BPJS,obat",
    ),
    Category.SOCIAL_ASSISTANCE: _text(
        "Bantuan sosial",
        "Social assistance",
        "PKH, BPNT, BLT dan data DTKS.",
        "Cash transfers, food aid and the welfare register.",
        _BASIC,
        "bansos,PKH,BPNT,BLT,DTKS",
    ),
    Category.INFRASTRUCTURE: _text(
        "Infrastruktur",
        "Infrastructure",
        "Jalan, jembatan, drainase dan fasilitas umum.",
        "Roads, bridges, drainage and public facilities.",
        _PLACES,
        "jalan,jembatan,drainase,banjir",
    ),
    Category.POPULATION_ADMINISTRATION: _text(
        "Administrasi kependudukan",
        "Civil registration",
        "KTP-el, KK, akta dan NIK.",
        "Identity cards, family cards, certificates and NIK.",
        _BASIC,
        "KTP,KK,akta,NIK,dukcapil",
    ),
    Category.EMPLOYMENT: _text(
        "Ketenagakerjaan",
        "Employment",
        "Upah, PHK, BPJS Ketenagakerjaan dan pekerja migran.",
        "Wages, dismissals, employment insurance and migrant workers.",
        _LAW,
        "upah,PHK,pesangon,PMI",
    ),
    Category.CORRUPTION: _text(
        "Korupsi dan pungutan liar",
        "Corruption and illegal levies",
        "Pungli, suap dan penyalahgunaan wewenang.",
        "Illegal levies, bribes and abuse of office.",
        _LAW,
        "pungli,suap,korupsi,gratifikasi",
    ),
    Category.PUBLIC_ORDER: _text(
        "Ketertiban umum",
        "Public order",
        "Keamanan, ketertiban dan gangguan di lingkungan.",
        "Safety, order and nuisances in the neighbourhood.",
        _LAW,
        "keamanan,ketertiban,premanisme",
    ),
    Category.ENVIRONMENT: _text(
        "Lingkungan hidup",
        "Environment",
        "Pencemaran, sampah dan kerusakan lingkungan.",
        "Pollution, waste and environmental damage.",
        _PLACES,
        "pencemaran,sampah,limbah,hutan",
    ),
    Category.UTILITIES: _text(
        "Listrik dan air",
        "Electricity and water",
        "PLN, PDAM dan layanan utilitas lain.",
        "Electricity, piped water and other utilities.",
        _PLACES,
        "listrik,PLN,air,PDAM",
    ),
    Category.OTHER: _text(
        "Lainnya",
        "Other",
        "Pengaduan lain tentang layanan pemerintah.",
        "Other complaints about government services.",
        _OTHER,
        "lainnya",
    ),
}


def language_of(accept_language: str | None) -> Language:
    """Bahasa Indonesia unless the client's first choice is English."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return EN if first.startswith("en") else ID


def service(category: Category, language: Language) -> dict[str, Any]:
    text = SERVICES[category]
    return {
        "service_code": category.value,
        "service_name": text.name[language],
        "description": text.description[language],
        "metadata": True,  # filing needs the NIK attribute
        "type": "realtime",
        "keywords": text.keywords,
        "group": text.group[language],
    }


def _attribute(
    code: str,
    order: int,
    description: tuple[str, str],
    datatype_description: tuple[str, str],
    language: Language,
    choices: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One attribute; texts as (Indonesian, English); `choices`: the `true` choice's names
    of a `singlevaluelist` (its `false` is "Tidak" / "No")."""
    pick = 0 if language is ID else 1
    attribute: dict[str, Any] = {
        "variable": True,
        "code": code,
        "datatype": "singlevaluelist" if choices else "string",
        "required": code == "nik",
        "datatype_description": datatype_description[pick],
        "order": order,
        "description": description[pick],
    }
    if choices:
        no = ("Tidak", "No")[pick]
        attribute["values"] = [{"key": "false", "name": no}, {"key": "true", "name": choices[pick]}]
    return attribute


def attributes(language: Language) -> list[dict[str, Any]]:
    """The attributes a client sends as `attribute[code]`; descriptions in Indonesian (the
    desk's language) with English on request. Only the NIK is required, as the desk
    requires it."""
    return [
        _attribute(
            "nik",
            1,
            ("NIK pelapor", "Reporter's NIK"),
            ("16 angka sesuai KTP, misalnya 3171015501900001", "16 digits as on the KTP"),
            language,
        ),
        _attribute(
            "phone",
            2,
            ("Nomor HP untuk kabar", "Phone number for updates"),
            (
                "Nomor HP Indonesia, misalnya 0812-3456-7890 (atau parameter phone)",
                "An Indonesian mobile number (or the phone parameter)",
            ),
            language,
        ),
        _attribute(
            "anonymous",
            3,
            ("Anonim", "Anonymous"),
            (
                "true: instansi tidak mengetahui identitas pelapor",
                "true: the agency never learns who reported",
            ),
            language,
            ("Ya, rahasiakan identitas saya dari instansi", "Yes, hide who I am from the agency"),
        ),
        _attribute(
            "secret",
            4,
            ("Rahasia", "Secret"),
            (
                "true: laporan tidak pernah ditampilkan kepada publik",
                "true: the report is never shown to the public",
            ),
            language,
            (
                "Ya, jangan tampilkan laporan ini kepada publik",
                "Yes, never show this report to the public",
            ),
        ),
    ]


def service_definition(category: Category, language: Language) -> dict[str, Any]:
    return {"service_code": category.value, "attributes": attributes(language)}


def discovery(url: str) -> dict[str, Any]:
    """The spec's discovery document for the one endpoint at `url`."""
    return {
        "changeset": "2026-12-07T00:00:00+07:00",
        "contact": "Sekretariat Wakil Presiden, Lapor Mas Wapres",
        "key_service": "lapor open311 add-client (the desk issues client keys)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": url,
                "changeset": "2026-12-07T00:00:00+07:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def discovery_xml(found: Mapping[str, Any]) -> bytes:
    """`<discovery>` with `<endpoints><endpoint>` and `<formats><format>`."""
    top = ElementTree.Element("discovery")
    for name in ("changeset", "contact", "key_service"):
        ElementTree.SubElement(top, name).text = found[name]
    endpoints = ElementTree.SubElement(top, "endpoints")
    for endpoint in found["endpoints"]:
        element = ElementTree.SubElement(endpoints, "endpoint")
        for name, value in endpoint.items():
            child = ElementTree.SubElement(element, name)
            if isinstance(value, list):
                for item in value:
                    ElementTree.SubElement(child, "format").text = item
            else:
                child.text = value
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(top, "utf-8")


# --------------------------------------------------------------------------- public view


def w3c(moment: datetime | None) -> str | None:
    """A spec datetime (W3C), in WIB: 2026-12-07T15:30:00+07:00."""
    return moment.astimezone(JAKARTA).isoformat(timespec="seconds") if moment else None


@functools.cache
def public_place(region_code: str | None) -> tuple[str | None, float | None, float | None]:
    """The incident regency's name and its point (rounded), or nothing when unknown."""
    found = regency(region_code) if region_code else None
    if found is None:
        return None, None, None
    point = regency_point(found.code)
    lat, long = (round(v, POINT_DECIMALS) for v in point) if point else (None, None)
    return f"{found.name}, {found.province.name}", lat, long


def public_request(row: Mapping[str, Any], language: Language) -> dict[str, Any]:
    """One listed complaint as a GeoReport v2 request (`row`: `adapters.open311`'s)."""
    category = _category(row["category"])
    name = SERVICES[category].name[language]
    address, lat, long = public_place(row["public_region"])
    return {
        "service_request_id": row["tracking_code"],
        "status": "closed" if row["status"] == "closed" else "open",
        "status_notes": label(row["status"], language),
        "service_name": name,
        "service_code": category.value,
        "description": row["public_summary"] or name,
        "agency_responsible": row["agency_name"],
        "service_notice": None,
        "requested_datetime": w3c(row["received_at"]),
        "updated_datetime": w3c(row["updated_at"]),
        "expected_datetime": w3c(row["response_due_at"]),
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": long,
        "media_url": None,
    }


def _category(value: str) -> Category:
    try:
        return Category(value)
    except ValueError:
        return Category.OTHER  # a category retired since: still listed, as "other"


# --------------------------------------------------------------------------- wire formats


def error(code: int, description: str) -> dict[str, Any]:
    return {"code": code, "description": description}


def to_xml(root: str, item: str, items: Sequence[Mapping[str, Any]]) -> bytes:
    """The spec's XML: `<root><item>...</item>...</root>`, lists nested by their singular
    (`attributes` > `attribute`, `values` > `value`), None as an empty element."""
    top = ElementTree.Element(root)
    for entry in items:
        _fill(ElementTree.SubElement(top, item), entry)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(top, "utf-8")


def definition_xml(definition: Mapping[str, Any]) -> bytes:
    top = ElementTree.Element("service_definition")
    _fill(top, definition)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(top, "utf-8")


def _fill(element: ElementTree.Element, entry: Mapping[str, Any]) -> None:
    for name, value in entry.items():
        child = ElementTree.SubElement(element, name)
        if isinstance(value, list):
            for member in value:
                _fill(ElementTree.SubElement(child, name.removesuffix("s")), member)
        else:
            child.text = _xml_text(value)


def _xml_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- public facts


@dataclass(frozen=True)
class PublicFacts:
    """What an event tells the public view of one complaint; None: unchanged."""

    complaint_id: uuid.UUID
    category: str | None = None
    region: str | None = None
    public: bool | None = None
    summary: str | None = None
    summary_changed: bool = False


def public_facts(events: Sequence[Event]) -> list[PublicFacts]:
    """The batch's facts for the public view, in order: the category, incident regency and
    listability from `ComplaintAccepted`, the public summary from
    `CasePublicSummaryPublished`."""
    facts: list[PublicFacts] = []
    for event in events:
        if isinstance(event, ComplaintAccepted):
            payload = event.payload
            facts.append(
                PublicFacts(
                    event.complaint_id,
                    category=payload.category.value,
                    # The reporter's NIK region says where they live: never public.
                    region=payload.region_code if payload.region_source == "incident" else None,
                    public=not (payload.secret or payload.anonymous),
                )
            )
        elif isinstance(event, CasePublicSummaryPublished):
            facts.append(
                PublicFacts(event.complaint_id, summary=event.payload.summary, summary_changed=True)
            )
    return facts
