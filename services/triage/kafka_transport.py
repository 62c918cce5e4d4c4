"""faust's aiokafka transport with an idempotent producer and a consumer that never commits
a message it skipped.

faust enables idempotence only for exactly-once transactions; Lapor wants acks=all and
idempotence everywhere without building correctness on Kafka transactions.

After a rebalance, faust skips messages fetched under the previous consumer generation, and
acks them so the lag does not grow. An acked offset may be committed, so the skipped message
would never be seen again: the e2e rebalance test lost one complaint that way. This consumer
refuses to ack a message of a stale generation; faust seeks to the committed offset after the
rebalance, so the message is fetched again in the new generation and processed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

log = logging.getLogger(__name__)
_REREADS: set[asyncio.Future[None]] = set()


class IdempotentProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class GenerationSafeConsumer(faust_aiokafka.Consumer):
    def ack(self, message: Message) -> bool:
        if message.generation_id != self.app.consumer_generation_id:
            return False  # skipped, not processed: let it be redelivered instead of committed
        return super().ack(message)

    def _new_offset(self, tp: TP) -> int | None:
        """Never commit past an offset that was not processed.

        The committed offset is the next one to process, so the lowest acked offset must equal
        it; faust only refuses a hole of two or more. When the head is missing (dropped while
        a rebalance re-seeked the partition), read the partition again from the committed
        offset: the stores make the re-read messages no-ops.
        """
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if acked and committed is not None and not self._gap[tp] and min(acked) > committed:
            healing = getattr(self, "_lapor_healing", None)
            if healing is None:
                healing = self._lapor_healing = set()
            if (tp, committed) not in healing:
                healing.add((tp, committed))
                log.warning("offset %s of %s was never processed; reading it again", committed, tp)
                self._acked[tp] = []
                self._acked_index[tp].clear()
                reread = asyncio.ensure_future(self.seek(tp, committed))
                _REREADS.add(reread)
                reread.add_done_callback(_REREADS.discard)
            return None
        return super()._new_offset(tp)


class IdempotentTransport(faust_aiokafka.Transport):
    Producer = IdempotentProducer
    Consumer = GenerationSafeConsumer
