"""Rate and size limits, pure: no I/O, the clock is passed in.

- `TokenBucket`: `rate` tokens a second up to `burst`; a request takes one or learns how
  long until one is free (that wait is the 429's Retry-After).
- `KeyedBuckets`: one bucket per client, in memory, with a bound on how many clients are
  tracked, so a spray of source addresses cannot grow it without end.
- `window_wait`: the sliding-window check the per-reporter limits run over timestamps kept
  in PostgreSQL (so they hold across instances).
- `client_key` and `body_limit`: which bucket a request falls in, and how large its body may be.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Clock = Callable[[], float]  # monotonic seconds


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # the most tokens the bucket holds
    tokens: float
    updated: float  # clock reading of the last refill

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, updated=now)

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)  # a clock that steps back adds nothing
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is free."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate

    def is_full(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= self.burst


class KeyedBuckets:
    """Token buckets per key with at most `max_keys` tracked (least recently used evicted).

    Evicting a bucket that has refilled loses nothing (a new bucket starts full too); only
    under a spray of more than `max_keys` active clients does eviction forgive someone early,
    which is the price of bounded memory.
    """

    def __init__(self, rate_per_minute: float, burst: int, max_keys: int, clock: Clock) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(max(1, burst))
        self.max_keys = max(1, max_keys)
        self.clock = clock
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0.0 when the request may pass, else the seconds to wait."""
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            self._evict(now)
            bucket = TokenBucket.full(self.rate, self.burst, now)
            self.buckets[key] = bucket
        else:
            self.buckets.move_to_end(key)
        return bucket.take(now)

    def _evict(self, now: float) -> None:
        """Make room for one more bucket."""
        while len(self.buckets) >= self.max_keys:
            self.buckets.popitem(last=False)
        # Drop a few refilled buckets from the cold end as we go: cheap, keeps the map small.
        for _ in range(2):
            if not self.buckets:
                return
            key, oldest = next(iter(self.buckets.items()))
            if not oldest.is_full(now):
                return
            del self.buckets[key]


def retry_after_seconds(wait: float) -> int:
    """The Retry-After header value: whole seconds, at least 1."""
    if math.isinf(wait):
        return 3600
    return max(1, math.ceil(wait))


def window_wait(recent: Sequence[datetime], now: datetime, limit: int, window: timedelta) -> float:
    """Seconds until one more event fits a sliding window of `limit` per `window`; 0.0 if
    it fits now. `recent` are the timestamps of earlier events (any order, any age)."""
    inside = sorted(at for at in recent if at > now - window)
    if len(inside) < limit:
        return 0.0
    if limit <= 0:
        return window.total_seconds()
    # The event that must age out for a new one to fit.
    blocking = inside[len(inside) - limit]
    return max(0.001, (blocking + window - now).total_seconds())


def client_key(host: str | None) -> str:
    """The rate-limit key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber
    usually holds a whole /64, so per-address keys would be free to rotate)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a test transport or unix socket: still one key per name
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class BodyLimits:
    default: int  # JSON and plain forms
    uploads: int  # the multipart form routes that take attachments
    webhook: int  # Meta's notifications
    upload_paths: frozenset[str] = frozenset(
        {"/lapor", "/lapor/tambah", "/v1/walk-in/complaints/form"}
    )
    webhook_paths: frozenset[str] = frozenset({"/webhooks/whatsapp"})

    def for_path(self, path: str) -> int:
        if path in self.webhook_paths:
            return self.webhook
        if path in self.upload_paths:
            return self.uploads
        return self.default


def declared_too_large(content_length: str | None, limit: int) -> bool:
    """True when a Content-Length header announces more than the limit (a malformed one is
    left for the byte count to judge)."""
    if content_length is None:
        return False
    value = content_length.strip()
    return value.isdigit() and int(value) > limit


def subject(key: str, kind: str, value: str) -> str:
    """A stable, keyed name for one phone / NIK / email (normalised by the caller): what the
    per-reporter limits count instead of the value itself."""
    digest = hmac.new(key.encode(), f"{kind}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def reporter_subjects(key: str, *, phone: str | None, nik: str | None) -> list[str]:
    """The names a complaint counts against: its phone and its NIK."""
    subjects = [subject(key, "phone", phone)] if phone else []
    return subjects + ([subject(key, "nik", nik)] if nik else [])


def contact_subject(key: str, destination: str) -> str:
    """The name a one-time code counts against: the phone or email it is sent to."""
    kind = "email" if "@" in destination else "phone"
    return subject(key, kind, destination.strip().lower())
