"""Shared delivery plumbing, written once and used by every service.

- `kafka`: the idempotent producer (acks=all), topic creation, record headers.
- `consumer`: the batch consumer loop: getmany, decode, idempotent handling in one database
  transaction with the processed-events table, dead-lettering, offset commit after the effect.
- `outbox`: the transactional outbox and its relay (one relay per service at a time).
- `deadletter`: the dead-letter producer (reason, source topic, partition, offset in headers).
- `database`: asyncpg pools bound to a service's schema, versioned migrations, and the one
  list of transient database errors.
- `lag`: consumer lag per partition from committed offsets.
- `faust_transport`: the fixes faust-streaming's aiokafka transport needs (triage's app).

Personal-data sealing lives in `services.personal_data`; the process lifecycle, logs and
metrics in `services.runtime`.

Services import this package and `schemas`, never each other.
"""
