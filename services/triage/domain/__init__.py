"""Triage's pure domain, no I/O: `rules` (validation, prank filter, classification, scores),
`duplicates` (exact repeats, near duplicates, per-reporter limits over key-value stores) and
`review` (reviewer tokens, review decisions and the events they publish)."""
