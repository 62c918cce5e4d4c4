"""Routing's adapters: `repository` (writes and the domain's state), `views` (reads for
pages and APIs), `directory` (the agency CSV) and `sp4n` (the SP4N-LAPOR! client)."""
