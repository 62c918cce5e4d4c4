"""Operator and test tools, kept apart from the product's services.

- `cli`: the `lapor` command (local stack, status, dead letters, keys, erasure, chaos).
- `infra`: the local Kafka (KRaft, Maven-resolved jars) and PostgreSQL (Debian's packages).
- `chaos`: the chaos run that kills services and restarts the broker and database under load.
- `standins`: local servers that speak the WhatsApp Cloud API, an SMS gateway and SMTP.
"""
