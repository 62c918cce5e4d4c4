"""Events intake publishes: complaints, conversation replies, WhatsApp opt-outs and the
citizen's satisfaction answers on lapor.complaints.intake.v1,
WhatsApp delivery statuses on lapor.channels.whatsapp.statuses.v1."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.events.base import (
    Attachment,
    Channel,
    ComplaintEvent,
    Eligibility,
    EventEnvelope,
    Language,
    Location,
    Reporter,
    StrictModel,
)
from schemas.personal_data import PersonalStr, personal_text

# The citizen's own words are personal data (sealed with the reporter's key); the limits bind
# the text itself (see `personal_text`).
Chronology = personal_text(20_000, min_length=1)
Addition = personal_text(20_000)
ReplyText = personal_text(4096, min_length=1)


class ComplaintReceivedPayload(StrictModel):
    tracking_code: str
    channel: Channel
    reporter: Reporter
    description: Chronology
    location: Location = Location()
    attachments: tuple[Attachment, ...] = ()
    eligibility: Eligibility = Eligibility()
    anonymous: bool = False
    secret: bool = False
    received_at: AwareDatetime


class ComplaintUpdatedPayload(StrictModel):
    tracking_code: str
    additional_text: Addition = ""
    attachments: tuple[Attachment, ...] = ()


class ComplaintReceived(ComplaintEvent):
    event_type: Literal["ComplaintReceived"] = "ComplaintReceived"
    payload: ComplaintReceivedPayload


class ComplaintUpdated(ComplaintEvent):
    event_type: Literal["ComplaintUpdated"] = "ComplaintUpdated"
    payload: ComplaintUpdatedPayload


class CitizenReplyRequestedPayload(StrictModel):
    """Intake asks the notifier, which owns outbound delivery, to send a conversational reply
    (the guided WhatsApp conversation, a one-time code, a receipt)."""

    reply_id: uuid.UUID
    channel: Channel
    to: PersonalStr = Field(description="wa_id, E.164 phone number or email address")
    text: ReplyText = Field(
        description="May quote the citizen's words (a conversation's summary): sealed with the"
        " same key as `to`"
    )
    language: Language = Language.INDONESIAN
    purpose: Literal["conversation", "one_time_code", "receipt"] = "conversation"
    in_reply_to: str | None = Field(
        default=None,
        description="Set when this answers a message the citizen just sent (the 24-hour window"
        " is open): a keyed hash of that message's id (`wref1:...`), never the wamid itself,"
        " which encodes the citizen's number. Replies are not threaded.",
    )
    tracking_code: str | None = None


class CitizenReplyRequested(ComplaintEvent):
    """complaint_id is the complaint the conversation is drafting (allocated at its start)."""

    event_type: Literal["CitizenReplyRequested"] = "CitizenReplyRequested"
    payload: CitizenReplyRequestedPayload


class WhatsAppStatusReportedPayload(StrictModel):
    """A status callback from the WhatsApp Cloud API for a message we sent."""

    provider_message_id: str = Field(
        description="The message we sent, as a keyed hash of its wamid (`wref1:...`: the"
        " notifier keeps the same hash of the wamid the API returned); never the wamid, which"
        " encodes the recipient's number"
    )
    status: Literal["sent", "delivered", "read", "failed"]
    status_at: AwareDatetime
    recipient: PersonalStr
    error_codes: tuple[str, ...] = ()
    callback_data: str | None = Field(default=None, max_length=512)


class WhatsAppStatusReported(EventEnvelope):
    """Not tied to a complaint id intake knows: complaint_id is empty and the key is
    correlation_id, derived from the wamid so one message's statuses stay in order."""

    event_type: Literal["WhatsAppStatusReported"] = "WhatsAppStatusReported"
    payload: WhatsAppStatusReportedPayload


class CitizenOptOutRequestedPayload(StrictModel):
    """A citizen wrote BERHENTI / STOP (opt out of our messages) or MULAI / START (back in)
    on a channel whose messages reach intake (WhatsApp); the notifier keeps the opt-outs."""

    channel: Channel
    address: PersonalStr = Field(description="The wa_id (or phone number) that wrote")
    opted_out: bool = Field(description="True: stop sending; False: send again")
    requested_at: AwareDatetime = Field(
        description="When the citizen wrote it: the latest request per address wins"
    )
    # No wamid: Meta's message ids encode the sender's number in base64.


class CitizenOptOutRequested(EventEnvelope):
    """Not tied to a complaint: complaint_id is empty and the key is correlation_id, derived
    from the citizen's message id. Two requests of one citizen may so take different
    partitions; the notifier applies one only when it is newer than the last it applied."""

    event_type: Literal["CitizenOptOutRequested"] = "CitizenOptOutRequested"
    payload: CitizenOptOutRequestedPayload


class SatisfactionRatedPayload(StrictModel):
    """The citizen's answer to the closing message's question: were they satisfied with how
    their complaint was handled? One answer per complaint and closing (the first counts)."""

    tracking_code: str = Field(description="The answering reporter's code (a co-reporter's own)")
    satisfied: bool = Field(description="PUAS / SATISFIED (or a score of 3-5): True")
    score: int | None = Field(default=None, ge=1, le=5, description="1-5 when they gave one")
    channel: Channel = Field(description="Where they answered: whatsapp or web")
    rated_at: AwareDatetime
    closed_at: AwareDatetime = Field(
        description="The closing answered (intake's read model: when the case was closed)"
    )


class SatisfactionRated(ComplaintEvent):
    """Keyed by the answering reporter's own complaint. Routing records it against the case
    and re-opens a case refused (TIDAK PUAS) within 10 days of its closing."""

    event_type: Literal["SatisfactionRated"] = "SatisfactionRated"
    payload: SatisfactionRatedPayload


EVENTS = (
    ComplaintReceived,
    ComplaintUpdated,
    CitizenReplyRequested,
    WhatsAppStatusReported,
    CitizenOptOutRequested,
    SatisfactionRated,
)
