"""Run triage as a faust worker: `python -m services.triage`."""

import asyncio

from faust.worker import Worker

from services.messaging.kafka import ensure_named_topics, ensure_topics
from services.observability import configure_logging
from services.triage.app import SERVICE, app, internal_topics, settings


async def create_topics() -> None:
    await ensure_topics(settings.kafka_bootstrap)
    await ensure_named_topics(settings.kafka_bootstrap, internal_topics())


configure_logging(SERVICE, settings.log_level)
asyncio.run(create_topics())
# Keep Lapor's JSON logging with personal-data scrubbing instead of mode's plain handler.
Worker(
    app, loglevel=settings.log_level.lower(), quiet=True, override_logging=False
).execute_from_commandline()
