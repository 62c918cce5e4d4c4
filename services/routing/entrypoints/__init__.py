"""Routing's entrypoints: the HTTP app (`app`, one router module per concern: `rules_admin`,
`calendar`, `agency_desk`, `stats`; shared `access` and `fields`), the consumer
wiring (`consumer`), the background workers (`workers`) and the directory CLI
(`directory_cli`)."""
