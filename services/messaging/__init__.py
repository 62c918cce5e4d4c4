"""Shared delivery plumbing, written once and used by every service.

- `kafka`: the idempotent producer (acks=all), topic creation, record headers.
- `consumer`: the batch consumer loop: getmany, decode, idempotent handling in one database
  transaction with the processed-events table, dead-lettering, offset commit after the effect.
- `outbox`: the transactional outbox and its relay (one relay per service at a time).
- `deadletter`: the dead-letter producer (reason, source topic, partition, offset in headers).
- `database`: asyncpg pools bound to a service's schema, and versioned migrations.
- `observability`: JSON logs with correlation ids and personal-data masking; Prometheus metrics.
- `runtime`: settings, the health/metrics HTTP server, graceful shutdown on SIGTERM.

Services import this package and `schemas`, never each other.
"""
