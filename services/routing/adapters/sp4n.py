"""Forwarding to SP4N-LAPOR!, the national complaint system, for agencies that take cases
through it.

A case assigned to such an agency gets a row in `sp4n_forwardings` in the same transaction
as the assignment. This background job sends it, retries with exponential backoff on
timeouts, connection errors, 408/429 and 5xx, stops on other 4xx (the request itself is
wrong), and records the remote tracking id. Each request carries an `Idempotency-Key` (case
and round), so a retry after a timeout the remote side did process does not file twice
where the remote honours it. The reporter's identity is never sent: only the case.

The wire format (field names, JSON or form encoding, where the remote id is in the answer)
is configuration, not code: `WireFormat`. The forwarder owns `sp4n_forwardings` (the
repository only schedules its rows); `entrypoints.workers` runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx

from services.personal_data.keystore import Keystore
from services.routing.adapters import citizen_words
from services.routing.observability import SP4N_ATTEMPTS
from services.routing.settings import DEFAULT_SP4N_FIELDS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WireFormat:
    """How a case is put on the wire: our field → their field, the encoding, and the dotted
    path of the remote tracking id in the JSON answer."""

    fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SP4N_FIELDS))
    encoding: str = "json"  # or "form"
    remote_id_path: str = "data.tracking_id"
    static: Mapping[str, str] = field(default_factory=dict)  # e.g. {"jenis": "pengaduan"}

    def body(self, case: Mapping[str, Any]) -> dict[str, Any]:
        values = {
            theirs: _wire_value(case.get(ours))
            for ours, theirs in self.fields.items()
            if case.get(ours) is not None
        }
        return {**self.static, **values}

    def request_kwargs(self, case: Mapping[str, Any]) -> dict[str, Any]:
        body = self.body(case)
        if self.encoding == "form":
            return {"data": {key: str(value) for key, value in body.items()}}
        return {"json": body}

    def remote_id(self, answer: Any) -> str:
        value = answer
        for part in self.remote_id_path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise ValueError(f"no {self.remote_id_path!r} in the answer")
            value = value[part]
        if value in (None, ""):
            raise ValueError(f"empty {self.remote_id_path!r} in the answer")
        return str(value)


def _wire_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def backoff(attempts: int, base: float, ceiling: float) -> timedelta:
    """Wait after the Nth failed attempt: base, 2·base, 4·base, ... capped at `ceiling`."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


class PermanentFailure(Exception):
    """The remote side refused the request itself; retrying would not help."""


@dataclass
class Sp4nForwarder:
    pool: Callable[[], asyncpg.Pool]
    url: str
    wire: WireFormat = field(default_factory=WireFormat)
    token: str | None = None
    timeout: float = 10.0
    backoff_base: float = 5.0
    backoff_ceiling: float = 900.0
    batch_size: int = 20
    # Opens the case's summary (the citizen's words, sealed) to forward it.
    keys: Keystore = field(kw_only=True)

    async def forward_due(self, now: datetime, client: httpx.AsyncClient) -> int:
        """Try every forwarding due by `now`, one transaction each; returns successes."""
        succeeded = 0
        for _ in range(self.batch_size):
            async with self.pool().acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    "SELECT f.*, c.tracking_code, c.category, c.priority, c.summary, c.secret,"
                    " c.region_code, c.channel, c.created_at, c.assignment_round,"
                    " c.agency_code AS current_agency,"
                    " (SELECT d.due_at FROM case_deadlines d WHERE d.case_id = f.case_id"
                    "  AND d.kind = 'agency_response' AND d.round = f.round) AS response_due_at"
                    " FROM sp4n_forwardings f JOIN cases c USING (case_id)"
                    " WHERE f.remote_id IS NULL AND f.next_attempt_at <= $1"
                    " ORDER BY f.next_attempt_at LIMIT 1 FOR UPDATE OF f SKIP LOCKED",
                    now,
                )
                if row is None:
                    return succeeded
                succeeded += await self._forward(conn, row, now, client)
        return succeeded

    async def _forward(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        now: datetime,
        client: httpx.AsyncClient,
    ) -> int:
        """One forwarding attempt and its outcome; 1 when it was filed, else 0."""
        if (row["assignment_round"], row["current_agency"]) != (row["round"], row["agency_code"]):
            await self._stop(conn, row, "superseded: the case was re-routed")
            return 0
        (summary,) = await citizen_words.readable(
            self.keys, conn, [row["summary"]]
        )  # in memory only
        try:
            remote_id = await self._send(client, row, summary)
        except PermanentFailure as error:
            SP4N_ATTEMPTS.labels("refused").inc()
            await self._stop(conn, row, str(error))
            return 0
        except (httpx.HTTPError, ValueError) as error:
            SP4N_ATTEMPTS.labels("retry").inc()
            await self._retry_later(conn, row, now, error)
            return 0
        await conn.execute(
            "UPDATE sp4n_forwardings SET attempts = attempts + 1, remote_id = $3,"
            " forwarded_at = $4, last_error = NULL WHERE case_id = $1 AND round = $2",
            row["case_id"],
            row["round"],
            remote_id,
            now,
        )
        SP4N_ATTEMPTS.labels("forwarded").inc()
        return 1

    async def _retry_later(
        self, conn: asyncpg.Connection, row: asyncpg.Record, now: datetime, error: Exception
    ) -> None:
        attempts = row["attempts"] + 1
        await conn.execute(
            "UPDATE sp4n_forwardings SET attempts = $3, last_error = $4,"
            " next_attempt_at = $5 WHERE case_id = $1 AND round = $2",
            row["case_id"],
            row["round"],
            attempts,
            _describe(error),
            now + backoff(attempts, self.backoff_base, self.backoff_ceiling),
        )
        log.warning(
            "SP4N-LAPOR! forwarding failed; will retry",
            extra={"attempts": attempts, "error": _describe(error)},
        )

    async def _send(
        self, client: httpx.AsyncClient, row: asyncpg.Record, summary: str | None
    ) -> str:
        case = {**row, "summary": summary}
        if case["secret"]:
            case["summary"] = None  # a secret report's content stays with Setwapres
        headers = {"Idempotency-Key": f"{row['case_id']}:{row['round']}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await client.post(
            self.url, headers=headers, timeout=self.timeout, **self.wire.request_kwargs(case)
        )
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise httpx.HTTPStatusError(
                f"HTTP {response.status_code}", request=response.request, response=response
            )
        if response.status_code >= 400:
            raise PermanentFailure(f"HTTP {response.status_code}: {response.text[:200]}")
        return self.wire.remote_id(response.json())

    async def _stop(self, conn: asyncpg.Connection, row: asyncpg.Record, reason: str) -> None:
        await conn.execute(
            "UPDATE sp4n_forwardings SET attempts = attempts + 1, last_error = $3,"
            " next_attempt_at = 'infinity' WHERE case_id = $1 AND round = $2",
            row["case_id"],
            row["round"],
            reason[:500],
        )
        log.error("SP4N-LAPOR! forwarding stopped", extra={"reason": reason[:200]})


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]
