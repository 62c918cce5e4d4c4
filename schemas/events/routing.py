"""Events routing publishes on lapor.cases.v1."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime

from schemas.events.base import EventEnvelope, StrictModel


class CaseAssignedPayload(StrictModel):
    case_id: uuid.UUID
    tracking_code: str
    agency_code: str
    agency_name: str
    rule_id: str
    due_at: AwareDatetime


class CaseAssigned(EventEnvelope):
    event_type: Literal["CaseAssigned"] = "CaseAssigned"
    payload: CaseAssignedPayload


EVENTS = (CaseAssigned,)
