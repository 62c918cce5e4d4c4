"""The words a citizen writes to stop (or resume) our messages, on any channel.

One list for every place that reads a citizen's text: the notifier's inbound SMS texts and
intake's WhatsApp conversation, which tells the notifier with `CitizenOptOutRequested`.
"""

from __future__ import annotations

OPT_OUT_WORDS = frozenset({"BERHENTI", "STOP", "UNSUBSCRIBE", "BERHENTI LANGGANAN"})
OPT_IN_WORDS = frozenset({"MULAI", "START"})


def opt_out_intent(text: str) -> bool | None:
    """True for an opt-out, False for an opt-in, None for any other text."""
    word = " ".join(text.strip().upper().split()).strip(".!")
    if word in OPT_OUT_WORDS:
        return True
    if word in OPT_IN_WORDS:
        return False
    return None
