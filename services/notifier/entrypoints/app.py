"""Notifier's HTTP adapter: opt-out and opt-in, the citizen's inbound text, and what was sent.

An SMS citizen's opt-out ("BERHENTI") arrives here, posted by the SMS gateway, or an operator
posts the opt-out itself; a WhatsApp citizen's arrives as intake's `CitizenOptOutRequested`
event on lapor.complaints.intake.v1.

Nothing here is public; every route needs a bearer token, and with none configured every
request is refused (fail closed):
- operators (`LAPOR_NOTIFIER_OPERATORS="name:token,..."`): everything, including the
  notification history, which says how and when a citizen was contacted;
- inbound senders (`LAPOR_NOTIFIER_INBOUND_TOKENS="gateway:token,..."`): the SMS gateway and
  intake's conversation, which may only post inbound texts (403 elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from fastapi import FastAPI

from services.notifier.domain.rules import AddressDigests
from services.notifier.entrypoints.access import ApiAccess
from services.notifier.entrypoints.history import history_router
from services.notifier.entrypoints.inbound_texts import inbound_texts_router
from services.notifier.entrypoints.opt_outs import opt_outs_router
from services.personal_data.keystore import Keystore
from services.runtime.dead_letters import mount_dead_letters
from services.runtime.http_problems import install_validation_handler

SERVICE = "notifier"


def create_app(
    pool: Callable[[], asyncpg.Pool], keys: Keystore, access: ApiAccess | None = None
) -> FastAPI:
    """`access` defaults to nobody: without configured tokens every route answers 401. `keys`
    gives the secret of the opt-outs' address digests (the shared identity key)."""
    app = FastAPI(title="Lapor notifier", version="1", description=__doc__)
    app.state.access = access or ApiAccess()
    install_validation_handler(app)
    digests = AddressDigests(keys.identity_key)
    app.include_router(opt_outs_router(pool, digests))
    app.include_router(inbound_texts_router(pool, digests))
    app.include_router(history_router(pool))
    mount_dead_letters(app, SERVICE)
    return app
