"""The agency directory file: more agencies (ministries, agencies, regional governments)
from a CSV file, validated whole before anything is written, then upserted in one
transaction. The CLI commands are in `entrypoints.directory_cli`. Columns (header row
required; the first three are mandatory):

    agency_code,name,level,region_code,via_sp4n,intake_method,contact_email,contact_phone,
    supervisor,response_working_days,supervisor_email

`supervisor_email` is where a level-1 overdue case is emailed (the supervisor named in
`supervisor`); without it, nobody is emailed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "agencies_extra.csv"
COLUMNS = (
    "agency_code",
    "name",
    "level",
    "region_code",
    "via_sp4n",
    "intake_method",
    "contact_email",
    "contact_phone",
    "supervisor",
    "response_working_days",
    "supervisor_email",
)
# What an administrator may change of an agency on the back office (PUT /v1/agencies/{code});
# the code, level and region stay: rules and regions find the agency by them.
AGENCY_EDITABLE = (
    "name",
    "via_sp4n",
    "intake_method",
    "contact_email",
    "contact_phone",
    "supervisor",
    "supervisor_email",
    "response_working_days",
)
AGENCY_DETAILS = "agency_code, level, region_code, " + ", ".join(AGENCY_EDITABLE)
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class AgencyRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9.\-]{1,40}$")
    name: str = Field(min_length=3, max_length=200)
    level: str = Field(pattern="^(national|province|regency|desk)$")
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{2}(\.[0-9]{2})?$")
    via_sp4n: bool = True
    intake_method: str = Field(default="sp4n", pattern="^(sp4n|email|letter|desk)$")
    contact_email: str | None = Field(default=None, pattern=EMAIL)
    contact_phone: str | None = Field(default=None, max_length=40)
    supervisor: str | None = Field(default=None, max_length=200)
    response_working_days: int = Field(default=5, ge=1, le=60)
    supervisor_email: str | None = Field(default=None, max_length=254, pattern=EMAIL)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class DirectoryError(ValueError):
    """The file is not a valid agency list; nothing was written."""


def parse_agencies_csv(text: str) -> list[AgencyRow]:
    """Every row, validated; raises DirectoryError naming each bad line and field."""
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or ())
    missing = {"agency_code", "name", "level"} - header
    unknown = header - set(COLUMNS)
    if missing or unknown:
        raise DirectoryError(
            f"header: missing {sorted(missing)}, unknown {sorted(unknown)}; expected {COLUMNS}"
        )
    rows: list[AgencyRow] = []
    problems: list[str] = []
    seen: set[str] = set()
    for line, record in enumerate(reader, start=2):
        try:
            row = AgencyRow.model_validate({k: v for k, v in record.items() if v is not None})
        except ValidationError as error:
            for item in error.errors(include_input=False, include_url=False):
                problems.append(f"line {line}: {'.'.join(map(str, item['loc']))}: {item['msg']}")
            continue
        if row.agency_code in seen:
            problems.append(f"line {line}: agency_code {row.agency_code} appears twice")
        if row.level in ("province", "regency") and row.region_code is None:
            problems.append(f"line {line}: a {row.level} needs a region_code")
        seen.add(row.agency_code)
        rows.append(row)
    if problems:
        raise DirectoryError("; ".join(problems[:50]))
    return rows


async def upsert_agencies(conn: asyncpg.Connection, rows: list[AgencyRow]) -> int:
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO agencies (agency_code, name, level, region_code, via_sp4n, intake_method,"
            " contact_email, contact_phone, supervisor, response_working_days, supervisor_email)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " ON CONFLICT (agency_code) DO UPDATE SET name = EXCLUDED.name,"
            " level = EXCLUDED.level, region_code = EXCLUDED.region_code,"
            " via_sp4n = EXCLUDED.via_sp4n, intake_method = EXCLUDED.intake_method,"
            " contact_email = EXCLUDED.contact_email, contact_phone = EXCLUDED.contact_phone,"
            " supervisor = EXCLUDED.supervisor,"
            " response_working_days = EXCLUDED.response_working_days,"
            " supervisor_email = EXCLUDED.supervisor_email",
            [tuple(getattr(row, column) for column in COLUMNS) for row in rows],
        )
    return len(rows)
