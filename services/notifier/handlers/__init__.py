"""Notifier's handlers: record what to send (events), and send it (sending)."""
