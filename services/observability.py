"""JSON logs with the correlation id, personal-data masking, and Prometheus metrics.

Logs never carry personal data. Events are logged through `schemas.personal_data.masked`, and
a last-line filter scrubs anything shaped like a NIK, a phone number or an email address from
every record, whatever code wrote it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_PHONE = re.compile(r"(?<![\w])(?:\+?62|0)8\d{7,12}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def scrub(text: str) -> str:
    text = _NIK.sub("[NIK]", text)
    text = _PHONE.sub("[PHONE]", text)
    return _EMAIL.sub("[EMAIL]", text)


class PersonalDataFilter(logging.Filter):
    """Adds context and scrubs personal data from the message and every extra field."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = correlation_id_var.get()
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = scrub(str(record.msg))
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in {"msg", "levelname", "name", "pathname"}:
                record.__dict__[key] = scrub(value)
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(PersonalDataFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


# --------------------------------------------------------------------------- metrics

EVENTS_IN = Counter("lapor_events_in_total", "Events consumed", ["service", "topic"])
EVENTS_OUT = Counter("lapor_events_out_total", "Events published", ["service", "topic"])
EVENTS_DEAD_LETTERED = Counter(
    "lapor_events_dead_lettered_total", "Messages sent to the dead-letter topic", ["service"]
)
HANDLE_SECONDS = Histogram(
    "lapor_handle_seconds",
    "Time to handle one consumed batch, including its database transaction"
    " (triage: one event in one of its stages)",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
READY = Gauge(
    "lapor_ready", "1 while the instance's last /readyz answer was ready, else 0", ["service"]
)
OUTBOX_BACKLOG = Gauge("lapor_outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge(
    "lapor_consumer_lag",
    "Messages behind the partition end, for the partitions this instance is assigned",
    ["service", "topic", "partition"],
)
HTTP_REQUESTS = Counter(
    "lapor_http_requests_total",
    "HTTP requests served, by route template (never the raw path: it carries tracking codes)",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "lapor_http_request_seconds",
    "Time to serve one HTTP request",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def prime_metrics(service: str, consumes: Iterable[str] = ()) -> None:
    """Create the service's label sets at zero, so /metrics lists every series from the start
    and `rate()` sees the first events instead of a series appearing out of nowhere."""
    for topic in consumes:
        EVENTS_IN.labels(service, topic)
    EVENTS_DEAD_LETTERED.labels(service)
    HANDLE_SECONDS.labels(service)
    OUTBOX_BACKLOG.labels(service)


def log_extra(**fields: Any) -> dict[str, Any]:
    return {"extra": fields}
