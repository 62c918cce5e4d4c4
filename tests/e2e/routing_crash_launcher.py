"""Routing with a fault injected, for the crash test in test_routing_pipeline: the process
exits (137) after the database commit of its first batch, before the batch's offsets are
committed. Run as `python -m tests.e2e.routing_crash_launcher`; otherwise it is routing's
normal main."""

from __future__ import annotations

import logging
import os

from services.messaging.consumer import ConsumerLoop
from services.routing.bootstrap import main

log = logging.getLogger(__name__)


async def _crash(*_: object) -> None:
    log.warning("fault injection: exiting between the database and the offset commit")
    os._exit(137)


if __name__ == "__main__":
    ConsumerLoop._commit = _crash  # type: ignore[method-assign]
    main()
