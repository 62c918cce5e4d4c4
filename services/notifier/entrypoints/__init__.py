"""Notifier's entrypoints: the HTTP routers, the consumer wiring, the sender job."""
