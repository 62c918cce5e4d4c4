"""Notifier's pure domain: no I/O."""
