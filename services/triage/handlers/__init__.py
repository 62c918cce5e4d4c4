"""Triage's handlers: `stages` (a complaint through the reporter and the area stage, against
key-value stores) and `review` (reviewers' commands on the review queue)."""
