"""The other services' JSON APIs, called on a signed-in staff member's behalf: one httpx
client per service (base URL from the settings), each call carrying
`X-Lapor-Staff: schemas.staff.sign(member, secret)`, the assertion the services verify with
`schemas.staff.verify` (see docs/backoffice.md). The back office reads and writes the other
services' data only through these calls.

Use from a page: `await services.routing.get(member, "/v1/desk/cases", params=...)`; a
service that is down or answers 5xx raises `ServiceUnavailable` (the page says so, the
back office stays up); a 4xx is returned for the page to explain (404: not yours)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from schemas import staff
from schemas.staff import StaffMember
from services.backoffice.settings import BackofficeSettings


class ServiceUnavailable(Exception):
    """The service could not be reached or failed (5xx)."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service


class ServiceClient:
    """One service's API, on behalf of staff members."""

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        secret: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        self.client = client
        self.secret = secret
        self.clock = clock

    def headers(self, member: StaffMember) -> dict[str, str]:
        return {staff.HEADER: staff.sign(member, self.secret, now=self.clock())}

    async def request(
        self, member: StaffMember, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **self.headers(member)}
        try:
            response = await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(self.name, repr(error)) from None
        if response.status_code >= 500:
            raise ServiceUnavailable(self.name, f"HTTP {response.status_code}")
        return response

    async def get(self, member: StaffMember, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request(member, "GET", path, **kwargs)

    async def post(self, member: StaffMember, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request(member, "POST", path, **kwargs)

    async def put(self, member: StaffMember, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request(member, "PUT", path, **kwargs)

    async def delete(self, member: StaffMember, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request(member, "DELETE", path, **kwargs)


class Services:
    """The back office's clients: `triage`, `routing`, `intake`, `notifier` (`clients` by
    name: every service serves its dead letters)."""

    def __init__(
        self,
        settings: BackofficeSettings,
        secret: str,
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """`transports` replaces the network for a service (tests: an in-process app)."""
        urls = {
            "triage": settings.triage_url,
            "routing": settings.routing_url,
            "intake": settings.intake_url,
            "notifier": settings.notifier_url,
        }
        transports = transports or {}
        self.clients = {
            name: ServiceClient(
                name,
                httpx.AsyncClient(
                    base_url=url,
                    timeout=settings.service_timeout_seconds,
                    transport=transports.get(name),
                ),
                secret,
            )
            for name, url in urls.items()
        }
        self.triage = self.clients["triage"]
        self.routing = self.clients["routing"]
        self.intake = self.clients["intake"]
        self.notifier = self.clients["notifier"]

    async def close(self) -> None:
        for service in self.clients.values():
            await service.client.aclose()


def refusal(response: httpx.Response) -> str:
    """What a service's 4xx answer says, for the page to show (its `detail`: a sentence, or
    the validation errors' messages)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg', '')}"
            for e in detail
            if isinstance(e, dict)
        )
    return str(detail or f"HTTP {response.status_code}")
