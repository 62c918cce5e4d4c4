"""Lapor's services. Each subpackage is one independently deployable service; they meet only
in `schemas` and on Kafka topics. `services.messaging` is the shared delivery plumbing."""
