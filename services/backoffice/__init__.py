"""The back office: the web pages of the staff (reviewers, Setwapres' disposition officers,
administrators, agency officers and supervisors, walk-in desk officers), with one sign-in,
one session store and one look. It owns staff accounts and sessions and nothing else: it
reads and writes the other services' data only through their HTTP APIs, calling them on the
signed-in member's behalf with a staff assertion (`schemas.staff`, header `X-Lapor-Staff`,
HMAC under LAPOR_STAFF_ASSERTION_SECRET); the services keep their own server-side checks.

Topics: none (reads and writes no topic; `ServiceRuntime(uses_kafka=False)`).

Tables (schema `backoffice`): staff_accounts, staff_account_events (audit of account
changes), staff_signin_failures (attempt limits), staff_sessions (only token hashes), plus
the plumbing's tables every schema gets.

HTTP (all under /staff, server-rendered, Bahasa Indonesia first, English on ?lang=en):
/staff/masuk (sign in), /staff/keluar (sign out), /staff/totp (one-time codes), /staff
(home: the areas the roles open), /staff/admin/akun (accounts; admins),
/staff/instansi/kasus (the agency inbox, from routing's /v1/desk/cases), /staff/disposisi
(disposition: routing's manual queue with the agency picker, re-opened, overdue and SP4N
lists), /staff/admin/aturan (routing rules and versions; an edit is a new version),
/staff/admin/instansi (agencies: find, edit contacts and deadlines),
/staff/admin/kalender (calendar overrides), /staff/admin/pesan-gagal (every service's dead
letters: list, show masked, replay), /staff/tinjau (triage's review queue), /staff/meja
(the walk-in desk over intake's desk API: check-in, complaints with scanned documents,
receipts, today's queue); /healthz, /readyz, /metrics. `lapor staff add`
creates accounts from the command line (the first admin).

Layout (each layer imports only the ones below it; `settings` is a leaf any layer may use):
- `bootstrap`: reads the settings (`check_deployment`), builds the service clients, the app
  (`create_app`) and the `ServiceRuntime`; `__main__` runs it.
- `entrypoints/`: `access` (session dependency and role checks, CSRF, cookies), `pages`
  (templates, texts, WIB), one router per concern (`signin_pages`, `home`,
  `accounts_admin`, `agency_inbox`, `agency_case`, `supervision`, `disposition`,
  `routing_admin`, `agencies_admin`, `dead_letters`, `review_pages`, `desk_pages`), and
  `staff_cli` (`lapor staff add`).
- `handlers/`: `signin` (sign in, sessions, sign out, TOTP enrolment), `accounts`.
- `adapters/`: `accounts` (all SQL), `services` (httpx clients of triage, routing, intake
  and notifier that add the staff assertion).
- `domain/`: pure. `passwords` (Argon2id), `signin` (attempt limits, session expiry, tokens,
  TOTP), `accounts` (account rules, role checks), `areas` (what each role opens),
  `wording` (WIB, statuses and roles in words).
See docs/backoffice.md.
"""
