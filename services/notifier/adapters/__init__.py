"""Notifier's adapters: PostgreSQL (repository, views) and the providers (channels)."""
