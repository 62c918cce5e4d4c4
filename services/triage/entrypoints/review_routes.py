"""The reviewers' HTTP API on faust's web server (see docs/triage.md, "Review queue"):

- `GET /v1/review?status=open|claimed|decided`: the items (no NIK, phone or name; the
  chronology opened in memory, "(data erased)" once the reporter was erased);
- `GET /v1/review/{complaint_id}`: one item, with the earlier complaints it resembles
  (`similar`: their content words opened with the key store, as the chronology is) and who
  holds its claim until when;
- `POST /v1/review/{complaint_id}/claim|accept|reject|duplicate|ban|unban` (a claim lapses
  after `domain.review.CLAIM_MINUTES`);
- `GET /v1/review-log?reviewer=&action=&since=&before=&limit=`: the audit log, newest first;
- `GET /openapi.json`: the OpenAPI document of these routes and the dead letters'
  (`review_openapi`, written by hand: faust's web server generates none).

Every route needs `Authorization: Bearer <token>` of a configured reviewer, or the back
office's staff assertion `X-Lapor-Staff` (`schemas.staff`) of a staff member with the role
reviewer or admin, who then decides under their staff id (401 for a forged, altered or
expired assertion, 403 for another role); it answers 503 until the review database is open."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import faust

from schemas.staff import HEADER, InvalidAssertion, verify
from services.triage.adapters import views
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.adapters.repository import ReviewRepository
from services.triage.domain.review import (
    LogFilter,
    ReviewDecision,
    ReviewError,
    authenticate,
    complaint_id_of,
    staff_reviewer,
)
from services.triage.entrypoints.backoffice import Backoffice
from services.triage.entrypoints.review_openapi import openapi_document
from services.triage.handlers import review


@dataclass(frozen=True)
class ReviewDependencies:
    backoffice: Backoffice
    # Token hashes to reviewer names (`domain.review.parse_reviewers`).
    reviewers: dict[str, str]
    # Opens the sealed chronology for reviewers (in memory, never stored opened).
    personal_data: PersonalDataReader
    # LAPOR_STAFF_ASSERTION_SECRET; empty: every staff assertion is refused.
    staff_secret: str = ""


class ReviewView(faust.web.View):
    dependencies: ReviewDependencies  # set by `add_review_routes`

    def _reviewer(self, request: Any) -> tuple[str | None, Any]:
        """The reviewer by staff assertion (which wins) or token, or the refusal."""
        assertion = request.headers.get(HEADER)
        if assertion is not None:
            try:
                member = verify(assertion, self.dependencies.staff_secret)
            except InvalidAssertion:
                return None, self.json(
                    {"detail": "a valid staff assertion is required"}, status=401
                )
            reviewer = staff_reviewer(member)
            if reviewer is None:
                return None, self.json({"detail": "only reviewers may use the queue"}, status=403)
            return reviewer, None
        reviewer = authenticate(request.headers.get("Authorization"), self.dependencies.reviewers)
        if reviewer is None:
            return None, self.json({"detail": "reviewer token required"}, status=401)
        return reviewer, None

    async def _guard(self, request: Any) -> tuple[str | None, Any]:
        reviewer, refusal = self._reviewer(request)
        if refusal is not None:
            return None, refusal
        if not self.dependencies.backoffice.ready.is_set():
            return None, self.json({"detail": "review queue not ready"}, status=503)
        return reviewer, None


class ReviewList(ReviewView):
    async def get(self, request: Any) -> Any:
        reviewer, refusal = await self._guard(request)
        if refusal is not None:
            return refusal
        pool = self.dependencies.backoffice.pool
        assert pool is not None
        try:
            items = await views.list_items(pool, request.query.get("status", "open"))
            items = await review.shown(self.dependencies.personal_data, items)
        except ReviewError as error:
            return self.json({"detail": error.message}, status=error.status)
        return self.json({"items": items, "reviewer": reviewer})


class ReviewItem(ReviewView):
    async def get(self, request: Any, complaint_id: str) -> Any:
        _, refusal = await self._guard(request)
        if refusal is not None:
            return refusal
        pool = self.dependencies.backoffice.pool
        assert pool is not None
        try:
            item = await views.one_item(pool, complaint_id_of(complaint_id))
            if item is None:
                raise ReviewError(404, "no such item in the review queue")
            item = (await review.shown(self.dependencies.personal_data, [item]))[0]
        except ReviewError as error:
            return self.json({"detail": error.message}, status=error.status)
        return self.json(item)


class ReviewLog(ReviewView):
    async def get(self, request: Any) -> Any:
        _, refusal = await self._guard(request)
        if refusal is not None:
            return refusal
        pool = self.dependencies.backoffice.pool
        assert pool is not None
        try:
            entries = await views.log_entries(pool, LogFilter.parse(request.query))
        except ReviewError as error:
            return self.json({"detail": error.message}, status=error.status)
        return self.json({"entries": entries})


class ReviewAction(ReviewView):
    async def post(self, request: Any, complaint_id: str, action: str) -> Any:
        reviewer, refusal = await self._guard(request)
        if refusal is not None:
            return refusal
        pool = self.dependencies.backoffice.pool
        assert pool is not None and reviewer is not None
        try:
            item = await self._act(ReviewRepository(pool), request, complaint_id, action, reviewer)
        except ReviewError as error:
            return self.json({"detail": error.message}, status=error.status)
        return self.json(item)

    async def _act(
        self,
        repository: ReviewRepository,
        request: Any,
        complaint_id: str,
        action: str,
        reviewer: str,
    ) -> dict[str, Any]:
        if action == "claim":
            return await review.claim(
                repository, self.dependencies.personal_data, complaint_id, reviewer
            )
        body = await _body(request)
        if action in ("ban", "unban"):
            note = str(body.get("note") or "") if isinstance(body, dict) else ""
            ban = await review.ban(repository, complaint_id, reviewer, action == "ban", note)
            return {"complaint_id": complaint_id, "reporter_banned": ban.banned}
        if not isinstance(body, dict):
            raise ReviewError(422, "the body must be a JSON object")
        decision = ReviewDecision.parse(action, body)
        personal_data = self.dependencies.personal_data
        return await review.decide(repository, personal_data, complaint_id, reviewer, decision)


async def _body(request: Any) -> Any:
    """The JSON body ({} without one); 400 for bytes that are not UTF-8 (as the FastAPI
    services answer), 422 for text that is not JSON."""
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except UnicodeDecodeError:
        raise ReviewError(400, "the body cannot be decoded (not UTF-8)") from None
    except json.JSONDecodeError:
        raise ReviewError(422, "the body is not valid JSON") from None


def add_review_routes(app: faust.App, dependencies: ReviewDependencies) -> None:
    """Register the review pages on `app`, bound to `dependencies`."""

    class BoundReviewList(ReviewList):
        pass

    class BoundReviewAction(ReviewAction):
        pass

    class BoundReviewItem(ReviewItem):
        pass

    class BoundReviewLog(ReviewLog):
        pass

    for view in (BoundReviewList, BoundReviewAction, BoundReviewItem, BoundReviewLog):
        view.dependencies = dependencies
    app.page("/v1/review", name="ReviewList")(BoundReviewList)
    app.page("/v1/review-log", name="ReviewLog")(BoundReviewLog)
    app.page("/v1/review/{complaint_id}", name="ReviewItem")(BoundReviewItem)
    app.page("/v1/review/{complaint_id}/{action}", name="ReviewAction")(BoundReviewAction)

    @app.page("/openapi.json", name="OpenAPI")
    async def openapi(web: Any, request: Any) -> Any:
        return web.json(openapi_document())
