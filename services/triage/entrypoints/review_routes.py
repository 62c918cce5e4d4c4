"""The reviewers' HTTP API on faust's web server (see docs/triage.md, "Review queue"):

- `GET /v1/review?status=open|claimed|decided`: the items (no NIK, phone or name);
- `POST /v1/review/{complaint_id}/claim|accept|reject|duplicate|ban|unban`.

Every route needs `Authorization: Bearer <token>` of a configured reviewer, and answers 503
until the back office has opened the review database."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from services.triage.adapters import views
from services.triage.adapters.repository import ReviewRepository
from services.triage.domain.review import Ban, ReviewDecision, ReviewError, authenticate
from services.triage.entrypoints.backoffice import Backoffice
from services.triage.handlers import review


def add_review_routes(
    app: faust.App,
    backoffice: Backoffice,
    reviewers: dict[str, str],
    send_ban: Callable[[Ban], Awaitable[None]],
) -> None:
    """Register the review pages on `app`; `reviewers` maps token hashes to names, `send_ban`
    puts a ban command on the broker."""

    class ReviewView(faust.web.View):
        async def _guard(self, request: Any) -> tuple[str | None, Any]:
            reviewer = authenticate(request.headers.get("Authorization"), reviewers)
            if reviewer is None:
                return None, self.json({"detail": "reviewer token required"}, status=401)
            if not backoffice.ready.is_set():
                return None, self.json({"detail": "review queue not ready"}, status=503)
            return reviewer, None

    @app.page("/v1/review")
    class ReviewList(ReviewView):
        async def get(self, request: Any) -> Any:
            reviewer, refusal = await self._guard(request)
            if refusal is not None:
                return refusal
            assert backoffice.pool is not None
            try:
                status = request.query.get("status", "open")
                items = await views.list_items(backoffice.pool, status)
            except ReviewError as error:
                return self.json({"detail": error.message}, status=error.status)
            return self.json({"items": items, "reviewer": reviewer})

    @app.page("/v1/review/{complaint_id}/{action}")
    class ReviewAction(ReviewView):
        async def post(self, request: Any, complaint_id: str, action: str) -> Any:
            reviewer, refusal = await self._guard(request)
            if refusal is not None:
                return refusal
            assert backoffice.pool is not None and reviewer is not None
            repository = ReviewRepository(backoffice.pool)
            try:
                item = await _act(repository, request, complaint_id, action, reviewer)
            except ReviewError as error:
                return self.json({"detail": error.message}, status=error.status)
            except json.JSONDecodeError:
                return self.json({"detail": "the body is not valid JSON"}, status=422)
            return self.json(item)

    async def _act(
        repository: ReviewRepository, request: Any, complaint_id: str, action: str, reviewer: str
    ) -> dict[str, Any]:
        if action == "claim":
            return await review.claim(repository, complaint_id, reviewer)
        body = await request.json() if request.can_read_body else {}
        if action in ("ban", "unban"):
            note = str(body.get("note") or "") if isinstance(body, dict) else ""
            ban = await review.ban(repository, complaint_id, reviewer, action == "ban", note)
            await send_ban(ban)
            return {"complaint_id": complaint_id, "reporter_banned": ban.banned}
        if not isinstance(body, dict):
            raise ReviewError(422, "the body must be a JSON object")
        decision = ReviewDecision.parse(action, body)
        return await review.decide(repository, complaint_id, reviewer, decision)
