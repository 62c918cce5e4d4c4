"""Intake's flood and size limits and its CSRF tokens, pure: a fake clock, no I/O."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.limits import (
    BodyLimits,
    KeyedBuckets,
    TokenBucket,
    client_key,
    declared_too_large,
    retry_after_seconds,
    window_wait,
)
from services.intake.settings import IntakeSettings
from services.runtime import csrf


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_its_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket.full(rate=1.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(1.0)
    assert bucket.take(0.5) == pytest.approx(0.5)  # half a token has come back
    assert bucket.take(1.0) == 0.0


def test_a_bucket_never_holds_more_than_its_burst_nor_gains_from_a_clock_stepping_back() -> None:
    bucket = TokenBucket.full(rate=10.0, burst=2, now=0.0)
    bucket.refill(3600.0)
    assert bucket.tokens == 2
    bucket.take(3600.0)
    bucket.take(3600.0)
    assert bucket.take(10.0) > 0  # the clock went back: no refill, no crash


def test_a_zero_rate_bucket_waits_forever_and_retry_after_stays_finite() -> None:
    bucket = TokenBucket.full(rate=0.0, burst=1, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert math.isinf(bucket.take(100.0))
    assert retry_after_seconds(math.inf) == 3600


@pytest.mark.parametrize(("wait", "header"), [(0.001, 1), (1.0, 1), (1.2, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: int) -> None:
    assert retry_after_seconds(wait) == header


def test_keyed_buckets_limit_each_client_on_its_own() -> None:
    clock = FakeClock()
    buckets = KeyedBuckets(rate_per_minute=60, burst=2, max_keys=100, clock=clock)
    assert [buckets.take("a") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0.0  # another client is not affected
    clock.now += 1.0
    assert buckets.take("a") == 0.0


def test_keyed_buckets_stay_bounded_under_a_spray_of_addresses() -> None:
    clock = FakeClock()
    buckets = KeyedBuckets(rate_per_minute=60, burst=5, max_keys=50, clock=clock)
    for index in range(10_000):
        buckets.take(f"10.0.{index // 256}.{index % 256}")
    assert len(buckets.buckets) <= 50


def test_keyed_buckets_drop_refilled_clients_as_they_go() -> None:
    clock = FakeClock()
    buckets = KeyedBuckets(rate_per_minute=60, burst=2, max_keys=1000, clock=clock)
    for index in range(10):
        buckets.take(f"client-{index}")
    clock.now += 60  # everyone has refilled: forgetting them changes no decision
    for index in range(10, 20):
        buckets.take(f"client-{index}")
    assert len(buckets.buckets) < 20


def test_a_busy_client_is_not_forgotten_by_the_sweep() -> None:
    clock = FakeClock()
    buckets = KeyedBuckets(rate_per_minute=1, burst=1, max_keys=1000, clock=clock)
    assert buckets.take("flooder") == 0.0
    for index in range(20):
        buckets.take(f"other-{index}")
    assert buckets.take("flooder") > 0


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_window_with_room_lets_the_next_one_in() -> None:
    recent = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert window_wait(recent, NOW, limit=5, window=HOUR) == 0.0


def test_a_full_window_waits_until_its_oldest_event_ages_out() -> None:
    recent = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    assert window_wait(recent, NOW, limit=5, window=HOUR) == pytest.approx(600.0)


def test_events_older_than_the_window_do_not_count() -> None:
    recent = [NOW - timedelta(minutes=m) for m in (61, 90, 120, 10, 5)]
    assert window_wait(recent, NOW, limit=3, window=HOUR) == 0.0


def test_an_over_full_window_waits_for_enough_events_to_age_out() -> None:
    # Seven in the window (a race let two extra in), limit five: three must age out.
    recent = [NOW - timedelta(minutes=m) for m in (55, 50, 45, 40, 30, 20, 10)]
    assert window_wait(recent, NOW, limit=5, window=HOUR) == pytest.approx(15 * 60)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same subscriber's /64
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_clients_are_keyed_by_address_and_ipv6_by_its_slash_64(host: str | None, key: str) -> None:
    assert client_key(host) == key


def test_body_limits_by_route() -> None:
    limits = BodyLimits(default=100, uploads=1000, webhook=500)
    assert limits.for_path("/v1/complaints") == 100
    assert limits.for_path("/lapor") == 1000
    assert limits.for_path("/lapor/tambah") == 1000
    assert limits.for_path("/webhooks/whatsapp") == 500
    assert declared_too_large("101", 100) and not declared_too_large("100", 100)
    assert not declared_too_large(None, 100) and not declared_too_large("nonsense", 100)


def test_the_upload_limit_leaves_room_for_the_form_to_name_the_bad_file() -> None:
    settings = IntakeSettings(max_attachments=2, max_attachment_bytes=1000, max_request_bytes=50)
    assert settings.upload_request_max_bytes() == 3 * 1000 + 50
    assert IntakeSettings(cors_allowed_origins=" https://a.id, ,https://b.id").cors_origins() == [
        "https://a.id",
        "https://b.id",
    ]


def test_a_csrf_token_matches_only_its_own_cookie_and_key() -> None:
    key, other_key = b"k" * 32, b"x" * 32
    nonce = csrf.new_nonce()
    token = csrf.token_for(key, nonce)
    assert csrf.token_matches(key, nonce, token)
    assert not csrf.token_matches(key, csrf.new_nonce(), token)  # another browser's cookie
    assert not csrf.token_matches(other_key, nonce, token)  # forged without the key
    assert not csrf.token_matches(key, nonce, "")
    assert not csrf.token_matches(key, None, token)  # no cookie at all
    assert not csrf.token_matches(key, "short", csrf.token_for(key, "short"))  # not a nonce
