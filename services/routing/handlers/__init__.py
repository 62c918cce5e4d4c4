"""Routing's handlers: each takes an event or a command, works through the repository in the
caller's transaction, and returns the events it caused (the caller puts them in the outbox).

- `opening`: ComplaintAccepted opens a case, ComplaintDuplicateDetected joins one.
- `additions`: ComplaintUpdated joins the case file and ends a wait for documents.
- `commands`: the desk's actions, re-routing and manual disposition; `change_status` is the
  one place a case's status changes.
- `deadlines`: the scheduler's scan, firing deadline alerts and escalations.
- `admin`: routing rules and the calendar.
- `events`: the outgoing events' common parts.
"""
