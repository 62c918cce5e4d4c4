"""The admin's routing pages (admins only), over routing's API:

- /staff/admin/aturan: the routing rules (`GET /v1/rules`) and a form for a new one
  (`POST /v1/rules`, its version 1; back to the list, where it appears);
- /staff/admin/aturan/{rule_id}: one rule's versions (`GET /v1/rules/{id}/versions`) and
  a form that edits it, which routing records as a new version (`PUT /v1/rules/{id}`);
- /staff/admin/kalender: the working-day calendar's overrides (`GET /v1/calendar/overrides`),
  a form to add a day (`PUT .../{day}`) and, per day, a removal with "I am sure"
  (`DELETE .../{day}`).

The agency picker reads `GET /v1/agencies`. Routing checks the member's role again."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from schemas.events.base import Category, Priority
from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable, refusal
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers.signin import Session

RULES = "/staff/admin/aturan"
CALENDAR = "/staff/admin/kalender"
RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,62}")  # routing's pattern
TITLES = {
    "rules": {"id": "Aturan routing", "en": "Routing rules"},
    "rule": {"id": "Aturan {rule}", "en": "Rule {rule}"},
    "calendar": {"id": "Kalender hari kerja", "en": "Working-day calendar"},
}
WORDS = {
    "id": {
        "rule": "Aturan",
        "category": "Kategori",
        "region": "Awalan wilayah",
        "region_hint": "Kode wilayah Kemendagri: 32, 32.73 atau 32.73.05; kosong: semua.",
        "priority": "Prioritas",
        "agency": "Instansi",
        "agency_default": "Pemda wilayah laporan",
        "any": "semua",
        "precedence": "Urutan (kecil didahulukan)",
        "active": "Aktif",
        "inactive": "Nonaktif",
        "description": "Keterangan",
        "version": "Versi",
        "changed": "Diubah",
        "by": "oleh",
        "edit": "Ubah aturan",
        "edit_hint": "Menyimpan membuat versi baru; kasus lama tetap mencatat versi yang dipakai.",
        "save": "Simpan sebagai versi baru",
        "versions": "Riwayat versi",
        "saved": "Disimpan sebagai versi {version}.",
        "day": "Tanggal",
        "kind": "Jenis",
        "working": "Hari kerja",
        "day_off": "Hari libur (cuti bersama)",
        "note": "Catatan",
        "add_day": "Tambah hari",
        "add": "Tambah",
        "remove": "Hapus",
        "sure": "Saya yakin menghapus {day}",
        "not_sure": 'Centang "Saya yakin" untuk menghapus.',
        "added": "Hari {day} disimpan.",
        "removed": "Hari {day} dihapus.",
        "no_days": "Belum ada pengecualian kalender.",
        "refused": "Routing menolak: {reason}",
        "new": "Aturan baru",
        "new_hint": "Aturan baru mulai dipakai untuk laporan berikutnya.",
        "rule_id": "ID aturan",
        "rule_id_hint": "Huruf kecil, angka dan tanda hubung, 3-63 karakter: kesehatan-jabar.",
        "create": "Buat aturan",
        "created": "Aturan {rule} dibuat (versi 1).",
    },
    "en": {
        "rule": "Rule",
        "category": "Category",
        "region": "Region prefix",
        "region_hint": "Kemendagri region code: 32, 32.73 or 32.73.05; empty: every region.",
        "priority": "Priority",
        "agency": "Agency",
        "agency_default": "The region's own government",
        "any": "any",
        "precedence": "Precedence (lower first)",
        "active": "Active",
        "inactive": "Inactive",
        "description": "Description",
        "version": "Version",
        "changed": "Changed",
        "by": "by",
        "edit": "Edit the rule",
        "edit_hint": "Saving creates a new version; earlier cases keep the version they used.",
        "save": "Save as a new version",
        "versions": "Versions",
        "saved": "Saved as version {version}.",
        "day": "Date",
        "kind": "Kind",
        "working": "Working day",
        "day_off": "Day off (collective leave)",
        "note": "Note",
        "add_day": "Add a day",
        "add": "Add",
        "remove": "Remove",
        "sure": "I am sure to remove {day}",
        "not_sure": 'Tick "I am sure" to remove.',
        "added": "Day {day} saved.",
        "removed": "Day {day} removed.",
        "no_days": "No calendar override yet.",
        "refused": "Routing refused: {reason}",
        "new": "New rule",
        "new_hint": "A new rule applies from the next complaint on.",
        "rule_id": "Rule id",
        "rule_id_hint": "Lower-case letters, digits and hyphens, 3-63 characters: health-jabar.",
        "create": "Create the rule",
        "created": "Rule {rule} created (version 1).",
    },
}


def _field(form: FormData, name: str, limit: int = 500) -> str | None:
    value = form.get(name)
    return value.strip()[:limit] or None if isinstance(value, str) else None


def rule_body(form: FormData) -> dict[str, Any]:
    """The edit form as routing's RuleIn (empty fields: None, 'any')."""
    precedence = _field(form, "precedence", 6) or "100"
    return {
        "category": _field(form, "category", 64),
        "region_prefix": _field(form, "region_prefix", 16),
        "priority": _field(form, "priority", 16),
        "agency_code": _field(form, "agency_code", 64),
        "precedence": int(precedence) if precedence.isdigit() else precedence,
        "active": form.get("active") == "1",
        "description": _field(form, "description"),
    }


NEW_RULE = {"precedence": 100, "active": True}  # the new-rule form's starting values


async def _rules_page(
    access: Access,
    services: Services,
    request: Request,
    session: Session,
    status: int = 200,
    **ctx: Any,
) -> Response:
    lang = language(request)
    member = session.account.member()
    common = {"title": TITLES["rules"][lang], "w": WORDS[lang]}
    try:
        answer = await services.routing.get(member, "/v1/rules")
        agencies = await services.routing.get(member, "/v1/agencies")
    except ServiceUnavailable:
        return access.page(
            request, "rules.html", session, status_code=503, unavailable="routing", **common
        )
    return access.page(
        request,
        "rules.html",
        session,
        status_code=status,
        rules=answer.json() if answer.status_code == 200 else [],
        agencies=agencies.json() if agencies.status_code == 200 else [],
        categories=list(Category),
        priorities=list(Priority),
        **{"entered": NEW_RULE, **common, **ctx},
    )


async def _rule_page(
    access: Access,
    services: Services,
    request: Request,
    session: Session,
    rule_id: str,
    status: int = 200,
    **ctx: Any,
) -> Response:
    lang = language(request)
    member = session.account.member()
    common = {"title": TITLES["rule"][lang].format(rule=rule_id), "w": WORDS[lang]}
    try:
        versions = await services.routing.get(member, f"/v1/rules/{rule_id}/versions")
        agencies = await services.routing.get(member, "/v1/agencies")
    except ServiceUnavailable:
        return access.page(
            request, "rule.html", session, status_code=503, unavailable="routing", **common
        )
    if versions.status_code == 404:
        raise HTTPException(404)
    found = versions.json() if versions.status_code == 200 else []
    return access.page(
        request,
        "rule.html",
        session,
        status_code=status,
        rule_id=rule_id,
        versions=list(reversed(found)),
        current=found[-1] if found else None,
        agencies=agencies.json() if agencies.status_code == 200 else [],
        categories=list(Category),
        priorities=list(Priority),
        **common,
        **ctx,
    )


async def _calendar_page(
    access: Access,
    services: Services,
    request: Request,
    session: Session,
    status: int = 200,
    **ctx: Any,
) -> Response:
    lang = language(request)
    common = {"title": TITLES["calendar"][lang], "w": WORDS[lang]}
    try:
        answer = await services.routing.get(session.account.member(), "/v1/calendar/overrides")
    except ServiceUnavailable:
        return access.page(
            request,
            "calendar.html",
            session,
            status_code=503,
            unavailable="routing",
            **common,
        )
    days = answer.json() if answer.status_code == 200 else []
    return access.page(
        request, "calendar.html", session, status_code=status, days=days, **common, **ctx
    )


def routing_admin_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    _add_rules(router, access, services)
    _add_calendar(router, access, services)
    return router


def _add_rules(router: APIRouter, access: Access, services: Services) -> None:
    AdminSession = Annotated[Session, Depends(access.require(Role.ADMIN))]

    @router.get(RULES)
    async def rules(request: Request, session: AdminSession) -> Response:
        created = request.query_params.get("dibuat")
        created = created if created and RULE_ID.fullmatch(created) else None
        return await _rules_page(access, services, request, session, created=created)

    @router.post(RULES)
    async def new_rule(request: Request, session: AdminSession) -> Response:
        form = await access.form(request)
        lang = language(request)
        body = {"rule_id": _field(form, "rule_id", 64) or "", **rule_body(form)}
        try:
            answer = await services.routing.post(session.account.member(), "/v1/rules", json=body)
        except ServiceUnavailable:
            return await _rules_page(access, services, request, session, 503, entered=body)
        if answer.status_code != 201:  # 409: the id is taken; 422: a field refused
            error = WORDS[lang]["refused"].format(reason=refusal(answer))
            status = 409 if answer.status_code == 409 else 422
            return await _rules_page(
                access, services, request, session, status, error=error, entered=body
            )
        target = with_lang(f"{RULES}?dibuat={answer.json()['rule_id']}", lang)
        return RedirectResponse(target, status_code=303)

    @router.get(RULES + "/{rule_id}")
    async def rule(request: Request, rule_id: str, session: AdminSession) -> Response:
        if not RULE_ID.fullmatch(rule_id):
            raise HTTPException(404)
        return await _rule_page(
            access, services, request, session, rule_id, saved=request.query_params.get("versi")
        )

    @router.post(RULES + "/{rule_id}")
    async def edit_rule(request: Request, rule_id: str, session: AdminSession) -> Response:
        if not RULE_ID.fullmatch(rule_id):
            raise HTTPException(404)
        form = await access.form(request)
        lang = language(request)
        try:
            answer = await services.routing.put(
                session.account.member(), f"/v1/rules/{rule_id}", json=rule_body(form)
            )
        except ServiceUnavailable:
            return await _rule_page(access, services, request, session, rule_id, 503)
        if answer.status_code == 404:
            raise HTTPException(404)
        if answer.status_code != 200:
            error = WORDS[lang]["refused"].format(reason=refusal(answer))
            return await _rule_page(access, services, request, session, rule_id, 422, error=error)
        version = answer.json()["version"]
        target = with_lang(f"{RULES}/{rule_id}?versi={version}", lang)
        return RedirectResponse(target, status_code=303)


def _add_calendar(router: APIRouter, access: Access, services: Services) -> None:
    AdminSession = Annotated[Session, Depends(access.require(Role.ADMIN))]

    def done(request: Request, notice: str, day: date) -> Response:
        target = with_lang(f"{CALENDAR}?{notice}={day.isoformat()}", language(request))
        return RedirectResponse(target, status_code=303)

    @router.get(CALENDAR)
    async def calendar(request: Request, session: AdminSession) -> Response:
        query = request.query_params
        notice = next(((k, query[k]) for k in ("added", "removed") if query.get(k)), None)
        return await _calendar_page(access, services, request, session, notice=notice)

    @router.post(CALENDAR)
    async def add_day(request: Request, session: AdminSession) -> Response:
        form = await access.form(request)
        lang = language(request)
        try:
            day = date.fromisoformat(_field(form, "day", 10) or "")
        except ValueError:
            return await _calendar_page(
                access,
                services,
                request,
                session,
                422,
                error=WORDS[lang]["day"] + ": ?",
                entered=form,
            )
        body = {"working": form.get("working") == "1", "note": _field(form, "note", 200) or ""}
        try:
            answer = await services.routing.put(
                session.account.member(), f"/v1/calendar/overrides/{day.isoformat()}", json=body
            )
        except ServiceUnavailable:
            return await _calendar_page(access, services, request, session, 503)
        if answer.status_code != 200:
            error = WORDS[lang]["refused"].format(reason=refusal(answer))
            return await _calendar_page(
                access, services, request, session, 422, error=error, entered=form
            )
        return done(request, "added", day)

    @router.post(CALENDAR + "/{day}/hapus")
    async def remove_day(request: Request, day: str, session: AdminSession) -> Response:
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise HTTPException(404) from None
        form = await access.form(request)
        if form.get("sure") != "1":
            return await _calendar_page(
                access, services, request, session, 422, error=WORDS[language(request)]["not_sure"]
            )
        try:
            answer = await services.routing.delete(
                session.account.member(), f"/v1/calendar/overrides/{when.isoformat()}"
            )
        except ServiceUnavailable:
            return await _calendar_page(access, services, request, session, 503)
        if answer.status_code == 404:
            raise HTTPException(404)
        return done(request, "removed", when)
