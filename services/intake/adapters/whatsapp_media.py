"""Downloading a WhatsApp message's media through the Graph API (WhatsApp Cloud API):

1. `GET {api_url}/{version}/{media_id}` with the bearer token answers
   `{"url", "mime_type", "sha256", "file_size", "id", "messaging_product"}`;
2. `GET url` with the same bearer token answers the bytes (the url lives 5 minutes).

Media ids expire after 7 days, so intake's inbox worker downloads when the message is
handled. A failure that may pass (network, 5xx, 429) raises `MediaTemporarilyUnavailable`
(the worker retries the message); one that will not (unknown or expired id, a file larger
than the limit, no API configured) raises `MediaUnavailable`.
"""

from __future__ import annotations

import logging

import httpx

from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 30.0


class MediaUnavailable(Exception):
    """The media cannot be had: the citizen is told so."""


class MediaTooLarge(MediaUnavailable):
    """Meta says the file is larger than intake keeps."""


class MediaTemporarilyUnavailable(Exception):
    """The Graph API did not answer usefully this time: try the message again later."""


async def download(settings: IntakeSettings, media_id: str, max_bytes: int) -> bytes:
    """The media's bytes (at most `max_bytes + 1`, so a too-large file shows as such)."""
    if not settings.whatsapp_api_url or not settings.whatsapp_token:
        raise MediaUnavailable("no WhatsApp Cloud API configured to fetch media")
    headers = {"Authorization": f"Bearer {settings.whatsapp_token}"}
    base = settings.whatsapp_api_url.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            meta = await client.get(
                f"{base}/{settings.whatsapp_api_version}/{media_id}", headers=headers
            )
            _raise_for(meta, "media lookup")
            info = meta.json()
            size = info.get("file_size")
            if isinstance(size, int) and size > max_bytes:
                raise MediaTooLarge(f"the media has {size} bytes")
            url = info.get("url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise MediaUnavailable("the media lookup gave no download url")
            return await _bytes(client, url, headers, max_bytes)
    except (httpx.TransportError, ValueError) as error:  # ValueError: a body not JSON
        raise MediaTemporarilyUnavailable(type(error).__name__) from None


async def _bytes(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int
) -> bytes:
    async with client.stream("GET", url, headers=headers) as response:
        _raise_for(response, "media download")
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > max_bytes:
                break
        return bytes(data[: max_bytes + 1])


def _raise_for(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status == 200:
        return
    if status == 429 or status >= 500 or status == 408:
        raise MediaTemporarilyUnavailable(f"{what}: HTTP {status}")
    if status in (401, 403):  # our token: an operator must act; the citizen is told now
        log.error("whatsapp media refused our token", extra={"status": status, "step": what})
    raise MediaUnavailable(f"{what}: HTTP {status}")
