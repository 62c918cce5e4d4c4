"""`/v1/rules`: routing rules as versioned data (Setwapres administrators only: an admin of
another agency gets 403)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from schemas.events.base import Category, Priority
from services.routing.adapters import views
from services.routing.adapters.repository import Officer, RuleVersion
from services.routing.domain import UnknownAgency
from services.routing.entrypoints.access import ADMIN_ONLY, Admin, PoolGetter
from services.routing.entrypoints.fields import (
    REGION_PATTERN,
    RULE_ID_PATTERN,
    AgencyCode,
    RuleId,
    Text,
    unprocessable,
)
from services.routing.handlers import admin
from services.runtime.http_problems import UNREADABLE_BODY, problem


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category | None = Field(default=None, description="None matches every category")
    region_prefix: str | None = Field(default=None, pattern=REGION_PATTERN)
    priority: Priority | None = Field(default=None, description="Only for this priority")
    agency_code: AgencyCode | None = Field(
        default=None, description="None: the region's Pemda", examples=["PEMDA-32", "KEMENKES"]
    )
    precedence: int = Field(default=100, ge=0, le=10_000, description="Lower wins first")
    active: bool = True
    description: Text | None = Field(default=None, max_length=500)

    def written_by(self, who: Officer, rule_id: str) -> RuleVersion:
        """The rule as written by `who`; the handler numbers the version."""
        return RuleVersion(
            rule_id=rule_id,
            category=self.category.value if self.category else None,
            region_prefix=self.region_prefix,
            priority=self.priority.value if self.priority else None,
            agency_code=self.agency_code,
            precedence=self.precedence,
            active=self.active,
            description=self.description,
            version=0,
            author=who.officer_id,
        )


class NewRule(RuleIn):
    rule_id: str = Field(pattern=RULE_ID_PATTERN)


# Read from the database, so enum-like columns are plain strings: a response model stricter
# than the data would turn old rows into 500s.


class RuleView(BaseModel):
    rule_id: str
    category: str | None
    region_prefix: str | None
    priority: str | None
    agency_code: str | None
    precedence: int
    active: bool
    description: str | None
    version: int
    updated_by: str
    updated_at: datetime


class RuleVersionView(BaseModel):
    rule_id: str
    version: int
    category: str | None
    region_prefix: str | None
    priority: str | None
    agency_code: str | None
    precedence: int
    active: bool
    description: str | None
    changed_by: str
    changed_at: datetime


def _unknown_agency(agency_code: str) -> Exception:
    return unprocessable(("agency_code",), f"unknown agency_code {agency_code!r}", agency_code)


def rules_router(pool: PoolGetter) -> APIRouter:
    router = APIRouter(tags=["rules"])

    @router.get("/v1/rules", responses=ADMIN_ONLY)
    async def list_rules(_: Admin) -> list[RuleView]:
        return [RuleView.model_validate(dict(row)) for row in await views.rules(pool())]

    @router.get(
        "/v1/rules/{rule_id}/versions", responses={**ADMIN_ONLY, 404: problem("No such rule")}
    )
    async def rule_versions(rule_id: RuleId, _: Admin) -> list[RuleVersionView]:
        rows = await views.rule_versions(pool(), rule_id)
        if not rows:
            raise HTTPException(404, f"no rule {rule_id}")
        return [RuleVersionView.model_validate(dict(row)) for row in rows]

    @router.post(
        "/v1/rules",
        status_code=201,
        responses={
            **ADMIN_ONLY,
            **UNREADABLE_BODY,
            409: problem("The rule exists; PUT to change it"),
        },
    )
    async def create_rule(rule: NewRule, who: Admin) -> RuleView:
        async with pool().acquire() as conn, conn.transaction():
            try:
                row = await admin.create_rule(conn, rule.written_by(who, rule.rule_id))
            except UnknownAgency as error:
                raise _unknown_agency(str(error)) from None
            except admin.RuleExists:
                raise HTTPException(409, f"rule {rule.rule_id} exists; PUT to change it") from None
        return RuleView.model_validate(dict(row))

    @router.put(
        "/v1/rules/{rule_id}",
        responses={**ADMIN_ONLY, **UNREADABLE_BODY, 404: problem("No such rule")},
    )
    async def update_rule(rule_id: RuleId, rule: RuleIn, who: Admin) -> RuleView:
        async with pool().acquire() as conn, conn.transaction():
            try:
                row = await admin.update_rule(conn, rule.written_by(who, rule_id))
            except UnknownAgency as error:
                raise _unknown_agency(str(error)) from None
            except admin.RuleNotFound:
                raise HTTPException(404, f"no rule {rule_id}") from None
        return RuleView.model_validate(dict(row))

    return router
