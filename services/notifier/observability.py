"""Notifier's own Prometheus metrics."""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter

SEND_ATTEMPTS = Counter(
    "lapor_notifier_send_attempts_total", "Attempts to hand a message to a provider", ["channel"]
)
NOTIFICATIONS_SENT = Counter(
    "lapor_notifier_sent_total",
    "Messages a provider accepted, by channel and mode (text or WhatsApp template)",
    ["channel", "mode"],
)

# A message that could not be delivered on its channel (permanent error, retries exhausted, a
# WhatsApp "failed" status), by the channel tried next ("none": no channel left).
UNDELIVERABLE = Counter(
    "lapor_notifier_undeliverable_total",
    "Messages undeliverable on their channel, by the fallback channel queued",
    ["channel", "fallback"],
)


# Each send counts twice: the labelled children are looked up once, not per message.
@cache
def send_attempts(channel: str) -> Counter:
    return SEND_ATTEMPTS.labels(channel)


@cache
def notifications_sent(channel: str, mode: str) -> Counter:
    return NOTIFICATIONS_SENT.labels(channel, mode)
