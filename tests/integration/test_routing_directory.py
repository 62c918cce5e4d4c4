"""Loading the agency directory from CSV into the real database."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from services.routing.adapters.directory import SAMPLE_CSV, DirectoryError, parse_agencies_csv
from services.routing.entrypoints.directory_cli import load_agencies

pytestmark = pytest.mark.integration
SCHEMA = "routing_directory_it"


async def test_the_sample_file_loads_and_a_second_load_updates_in_place(
    database_url: str, tmp_path: Path
) -> None:
    expected = len(SAMPLE_CSV.read_text().splitlines()) - 1
    assert await load_agencies(SAMPLE_CSV, database_url, SCHEMA) == expected
    changed = tmp_path / "bpom.csv"
    changed.write_text(
        "agency_code,name,level,response_working_days,supervisor_email\n"
        "BPOM,Badan Pengawas Obat dan Makanan RI,national,3,inspektorat@pom.go.id\n"
    )
    assert await load_agencies(changed, database_url, SCHEMA) == 1
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            f"SELECT name, response_working_days, supervisor_email FROM {SCHEMA}.agencies"
            " WHERE agency_code = 'BPOM'"
        )
        sorong = await conn.fetchval(
            f"SELECT name FROM {SCHEMA}.agencies WHERE agency_code = 'PEMDA-96.71'"
        )
        provinces = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.agencies WHERE level = 'province'"
        )
    finally:
        await conn.close()
    assert tuple(row) == ("Badan Pengawas Obat dan Makanan RI", 3, "inspektorat@pom.go.id")
    assert sorong == "Pemerintah Kota Sorong" and provinces == 38


async def test_a_bad_file_names_every_bad_line_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "agency_code,name,level,region_code,via_sp4n\n"
        "PEMDA-99.01,Pemerintah Kabupaten Contoh,regency,99.01,true\n"
        "pemda lowercase,X,regency,31,maybe\n"
        "PEMDA-98,Pemerintah Provinsi Tanpa Kode,province,,true\n"
    )
    with pytest.raises(DirectoryError) as caught:
        await load_agencies(bad, database_url, SCHEMA)
    message = str(caught.value)
    assert "line 3: agency_code" in message and "line 3: via_sp4n" in message
    assert "line 4: a province needs a region_code" in message and "line 2" not in message
    conn = await asyncpg.connect(database_url)
    try:
        assert not await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.agencies WHERE agency_code = 'PEMDA-99.01'"
        )
    finally:
        await conn.close()
    with pytest.raises(DirectoryError, match="unknown"):
        parse_agencies_csv("agency_code,name,level,colour\n")


async def test_an_added_officer_gets_a_working_token_stored_only_hashed(
    database_url: str,
) -> None:
    from services.routing.adapters.repository import token_digest
    from services.routing.entrypoints.directory_cli import add_officer

    token = await add_officer(database_url, "BPOM", "bpom-desk-1", schema=SCHEMA)
    assert len(token) >= 40
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchrow(
            f"SELECT agency_code, role, token_sha256 FROM {SCHEMA}.officers"
            " WHERE officer_id = 'bpom-desk-1'"
        )
    finally:
        await conn.close()
    assert tuple(stored) == ("BPOM", "officer", token_digest(token))
    with pytest.raises(DirectoryError, match="unknown agency"):
        await add_officer(database_url, "NOPE", "x", schema=SCHEMA)


def test_the_directory_refuses_a_supervisor_email_that_is_no_address() -> None:
    with pytest.raises(DirectoryError, match="supervisor_email"):
        parse_agencies_csv(
            "agency_code,name,level,supervisor_email\nATR-BPN,Kementerian ATR/BPN,national,itjen\n"
        )
