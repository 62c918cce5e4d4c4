"""The agency directory loader: more agencies (ministries, agencies, regional governments)
from a CSV file, validated whole before anything is written, then upserted in one
transaction.

CLI: `lapor routing load-agencies FILE.csv` calls `load_agencies_file`, and
`lapor routing add-officer AGENCY OFFICER_ID [--admin]` calls `add_officer_cli` (prints the
token once). Columns (header
row required; the first three are mandatory):

    agency_code,name,level,region_code,via_sp4n,intake_method,contact_email,contact_phone,
    supervisor,response_working_days
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import secrets
from pathlib import Path

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.messaging.database import create_pool, migrate
from services.routing.repository import create_officer

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SAMPLE_CSV = Path(__file__).resolve().parent / "data" / "agencies_extra.csv"
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
)


class AgencyRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9.\-]{1,40}$")
    name: str = Field(min_length=3, max_length=200)
    level: str = Field(pattern="^(national|province|regency|desk)$")
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{2}(\.[0-9]{2})?$")
    via_sp4n: bool = True
    intake_method: str = Field(default="sp4n", pattern="^(sp4n|email|letter|desk)$")
    contact_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    contact_phone: str | None = Field(default=None, max_length=40)
    supervisor: str | None = Field(default=None, max_length=200)
    response_working_days: int = Field(default=5, ge=1, le=60)

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
            " contact_email, contact_phone, supervisor, response_working_days)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (agency_code) DO UPDATE SET name = EXCLUDED.name,"
            " level = EXCLUDED.level, region_code = EXCLUDED.region_code,"
            " via_sp4n = EXCLUDED.via_sp4n, intake_method = EXCLUDED.intake_method,"
            " contact_email = EXCLUDED.contact_email, contact_phone = EXCLUDED.contact_phone,"
            " supervisor = EXCLUDED.supervisor,"
            " response_working_days = EXCLUDED.response_working_days",
            [tuple(getattr(row, column) for column in COLUMNS) for row in rows],
        )
    return len(rows)


async def load_agencies(path: Path, database_url: str, schema: str = "routing") -> int:
    """Validate the file, then upsert it into routing's directory; returns the row count."""
    rows = parse_agencies_csv(await asyncio.to_thread(path.read_text, encoding="utf-8-sig"))
    pool = await create_pool(database_url, schema, max_size=2)
    try:
        await migrate(pool, schema, MIGRATIONS)
        async with pool.acquire() as conn:
            return await upsert_agencies(conn, rows)
    finally:
        await pool.close()


def load_agencies_file(path: Path, database_url: str | None = None) -> int:
    """Synchronous entry point for the `lapor` CLI."""
    url = database_url or os.environ.get(
        "LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor"
    )
    return asyncio.run(load_agencies(path, url))


async def add_officer(
    database_url: str,
    agency_code: str,
    officer_id: str,
    *,
    admin: bool = False,
    schema: str = "routing",
) -> str:
    """Create an officer of an agency; returns the bearer token, which is stored only hashed
    and cannot be shown again."""
    token = secrets.token_urlsafe(32)
    pool = await create_pool(database_url, schema, max_size=2)
    try:
        await migrate(pool, schema, MIGRATIONS)
        async with pool.acquire() as conn:
            if not await conn.fetchval(
                "SELECT true FROM agencies WHERE agency_code = $1", agency_code
            ):
                raise DirectoryError(f"unknown agency {agency_code!r}")
            role = "admin" if admin else "officer"
            await create_officer(conn, officer_id, agency_code, token, role)
    finally:
        await pool.close()
    return token


def add_officer_cli(
    agency_code: str, officer_id: str, admin: bool = False, database_url: str | None = None
) -> str:
    """Synchronous entry point for `lapor routing add-officer AGENCY OFFICER_ID [--admin]`."""
    url = database_url or os.environ.get(
        "LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor"
    )
    return asyncio.run(add_officer(url, agency_code, officer_id, admin=admin))
