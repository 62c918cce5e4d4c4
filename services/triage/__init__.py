"""Triage: validation, prank filtering and classification, as a faust-streaming app.

- Reads: lapor.complaints.intake.v1.
- Writes: lapor.complaints.triaged.v1, lapor.deadletter.triage.v1.
- State: faust table `decisions` on its changelog topic `lapor-triage-decisions-changelog`.
- HTTP (faust web): /healthz, /readyz, /metrics.
See `services.triage.app` for the agent, `services.triage.domain` for the rules.
"""
