"""Routing's own Prometheus metrics (the shared ones are in services.observability);
a leaf module like `settings`."""

from __future__ import annotations

from prometheus_client import Counter

ALERTS_FIRED = Counter(
    "lapor_routing_deadline_alerts_total", "Deadline alerts fired", ["deadline_kind", "alert"]
)
SP4N_ATTEMPTS = Counter(
    "lapor_routing_sp4n_attempts_total", "SP4N-LAPOR! forwarding attempts", ["outcome"]
)
