"""Triage's entrypoints: `stream` (the faust topics and the one batching agent), `backoffice`
(the review database's pool and the outbox relay), `review_routes` (the reviewers' HTTP API),
`health` (/healthz, /readyz, /metrics) and `metrics` (the faust sensor and the lag sampler)."""
