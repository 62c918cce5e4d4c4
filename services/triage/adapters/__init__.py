"""Triage's adapters to PostgreSQL: `repository` (the review queue's writes and its outbox),
`views` (the queue as reviewers read it) and `personal_data` (the key store, to open a
complaint's sealed fields in memory)."""
