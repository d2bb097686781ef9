# SPDX-License-Identifier: Apache-2.0
"""Request and response bodies of the HTTP API as pydantic models.

The request models validate the bodies (`parse_body`: one pass of pydantic-core over the raw
bytes, no intermediate `json.loads`); the response models describe what the routes return
(tests validate real responses against them). `openapi` generates the document from both.
Single events are checked by `visitors.events.validate_event`, one by one, so one bad event
never drops the good ones: the batch envelope holds them as plain objects.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from slotwise.gateway.http.errors import ApiError
from slotwise.gateway.visitors.events import EVENT_TYPES

Consent = Literal["none", "anonymous", "full"]
VisitorId = Annotated[str, Field(pattern=r"^(?:[A-Za-z0-9_.:-]{1,128})?$")]
NonEmpty = Annotated[str, Field(min_length=1)]


class Request(BaseModel):
    """Strict JSON types; keys this version does not know are ignored (newer clients)."""

    model_config = ConfigDict(strict=True, extra="ignore")


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Simulate(Response):
    """Demo sites or the secret key only."""

    device: str | None = None
    country: str | None = None
    hour: int | None = None
    weekday: str | None = None
    timezone: str | None = None


class PageContext(Response):
    """What the page tells about itself; the gateway resolves the rest from the request."""

    url: str | None = None
    referrer: str | None = None
    timezone: str | None = None
    language: str | None = None
    user_agent: str | None = None
    item_id: str | None = None
    consent: Consent | None = None
    gpc: bool | None = None
    simulate: Simulate | None = None


# The context's keys are read leniently by `context.request` (a bad value is ignored, never a
# 400), so the body only has to hold an object there; its documented shape is PageContext.
# (`openapi` turns {"x-model": NAME} into a reference to that model's schema.)
ContextObject = Annotated[dict[str, Any], WithJsonSchema({"x-model": "PageContext"})]


class RenderRequest(Request):
    site: NonEmpty
    slots: Annotated[list[str], Field(min_length=1)]
    visitor_id: VisitorId | None = None
    context: ContextObject = Field(default_factory=dict)
    debug: bool = Field(False, description="with the secret key: add the resolved context")


class EventsRequest(Request):
    site: NonEmpty
    events: Annotated[list[Any], WithJsonSchema({"type": "array", "items": {"x-model": "Event"}})]
    key: str | None = Field(None, description="the publishable key, for sendBeacon (no headers)")
    consent: Consent | None = None
    context: ContextObject = Field(default_factory=dict)
    segments: bool = Field(False, description="return each visitor's segments")


class ConsentRequest(Request):
    level: Consent


class Event(Response):
    """One event of a batch (checked one by one; a bad event is rejected with its reason)."""

    event_id: str
    visitor_id: str
    type: str = Field(json_schema_extra={"enum": list(sorted(EVENT_TYPES))})
    ts: str = Field(json_schema_extra={"format": "date-time"})
    item_id: str | None = None
    value: float | None = None
    currency: str | None = None
    quantity: int | None = None
    properties: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


class ExperimentOut(Response):
    key: str
    arm: str | None = None
    holdout: bool = Field(False, description="an experiment's holdout (the default block was shown)")
    bandit: bool = Field(False, description="a bandit's choice, drawn anew on each view")
    propensity: float | None = Field(None, description="bandits: the probability the arm was chosen with")
    bucket: str | None = Field(None, description="contextual bandits: the context bucket of the choice")


class Block(Response):
    html: str
    variant: str
    segments: list[str]
    experiment: ExperimentOut | None
    ttl: Annotated[int, Field(ge=0, description="seconds the block stays valid")]
    fallback: str | None = Field(None, description="present when the default block replaced a failed one")


class SlotError(Response):
    code: str
    message: str


class RenderResponse(Response):
    visitor_id: str | None
    blocks: dict[str, Block]
    errors: dict[str, SlotError] | None = Field(None, description="slots asked for but not configured")
    context: dict[str, Any] | None = Field(None, description="debug with the secret key only")


class SlotInfo(Response):
    name: str
    description: str
    type: str


class SlotsResponse(Response):
    slots: list[SlotInfo]


class Rejected(Response):
    index: int
    event_id: str | None
    reason: str


class Ignored(Response):
    event_ids: list[str]
    reason: str


class EventsResponse(Response):
    accepted: list[str]
    duplicates: list[str]
    rejected: list[Rejected]
    ignored: Ignored | None = None
    segments: dict[str, list[str]] | None = None


class ReloadResponse(Response):
    status: Literal["reloaded"]
    slots: int
    catalog_items: int
    applied: list[Literal["store", "models"]] = Field(description="services reopened because their section changed")


class ModelsReloadResponse(Response):
    loaded: list[dict[str, Any]]
    unchanged: list[str]
    refused: list[dict[str, Any]]
    bundles: list[dict[str, Any]]


class AuthoredSlot(Response):
    """A slot as the configuration file's `slots.NAME` holds it, written in a CMS."""

    source: str = Field("", description="the CMS object it came from, e.g. wordpress:post/12")
    description: str = ""
    default: dict[str, Any] = Field(description="a block, shown when no variant matches")
    variants: list[dict[str, Any]] = Field(
        default_factory=list, description="{id, when, block} or {id, experiment: {key, arms}}, first match wins"
    )
    ttl: int | None = None
    budget_ms: float | None = None


class AuthoredResult(Response):
    slot: str
    status: Literal["published", "unchanged", "retired"]
    version: int | None = Field(description="the configuration version this change made (studio history)")
    variants: list[str | None]


class AuthoringNames(Response):
    segments: list[dict[str, str]]
    names: list[dict[str, Any]] = Field(description="context names of the expression language, with kinds and docs")
    authored: list[str] = Field(description="slots authored through this API")


class ErrorDetail(Response):
    path: str
    message: str
    field: str | None = None
    index: int | None = Field(None, description="position of the variant in the list sent")
    variant: str | None = None
    arm: int | None = None
    column: int | None = Field(None, description="1-based column in the condition")


class ErrorBody(Response):
    code: str
    message: str
    details: list[ErrorDetail] | None = Field(None, description="one per problem (authored slots)")


class Error(Response):
    error: ErrorBody


MODELS: tuple[type[BaseModel], ...] = (
    PageContext,
    RenderRequest,
    RenderResponse,
    SlotsResponse,
    Event,
    EventsRequest,
    EventsResponse,
    ConsentRequest,
    ReloadResponse,
    ModelsReloadResponse,
    AuthoredSlot,
    AuthoredResult,
    AuthoringNames,
    Error,
)
"""Every model the document refers to (components/schemas)."""

M = TypeVar("M", bound=BaseModel)
_BODY_ERRORS = {
    "site": ("invalid_request", "'site' must be a non-empty string"),
    "slots": ("invalid_request", "'slots' must be a non-empty list of slot names"),
    "visitor_id": ("invalid_visitor_id", "visitor_id must be 1-128 characters of A-Z a-z 0-9 _ . : -"),
    "context": ("invalid_request", "'context' must be a JSON object"),
    "events": ("invalid_request", "'events' must be a list of events"),
    "level": ("invalid_consent", "'level' must be one of none, anonymous, full"),
}


def parse_body(model: type[M], raw: bytes, order: tuple[str, ...] = ()) -> M:
    """Validate a JSON body in one pass; a 400 names the first field at fault (in `order`)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if not any(e["type"] == "json_invalid" for e in exc.errors(include_url=False)):
            raise body_error(exc, order) from None
    data = load_json(raw)  # pydantic-core refuses lone surrogates that Python's JSON reads
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise body_error(exc, order) from None


def load_json(raw: bytes) -> Any:
    """A body as Python values, or a 400: not JSON, or nested deeper than the decoder's stack."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "request body is nested too deeply") from None


def body_error(exc: ValidationError, order: tuple[str, ...] = ()) -> ApiError:
    errors = exc.errors(include_url=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return ApiError(400, "invalid_json", "request body is not valid JSON")
    fields = [str(e["loc"][0]) for e in errors if e["loc"]]
    if not fields:
        return ApiError(400, "invalid_request", "request body must be a JSON object")
    first = min(fields, key=lambda f: order.index(f) if f in order else len(order))
    code, message = _BODY_ERRORS.get(first, ("invalid_request", f"'{first}' has the wrong type"))
    return ApiError(400, code, message)
