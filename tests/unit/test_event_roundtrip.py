"""Property tests: every event type survives serialize → parse unchanged, and what goes on the
wire validates against the checked-in JSON Schema that other teams consume.

The strategies are derived from the pydantic models themselves (field annotations and their
constraints), so a new event, field or constraint is covered without touching this file; an
annotation the walker does not understand fails loudly instead of being skipped.
"""

from __future__ import annotations

import enum
import json
import types
import uuid
from datetime import UTC, timedelta, timezone
from functools import cache
from types import SimpleNamespace
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from schemas import export
from schemas.events import (
    ALL_EVENTS,
    EVENT_TYPES,
    EventEnvelope,
    intake,
    notifier,
    parse_event,
    routing,
    serialize_event,
    triage,
)

# Big payloads (20,000-character descriptions) are part of the point; deadline=None because a
# shared CI machine is slow, not because an example may hang.
ROUNDTRIP = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_COLLECTION = 3  # tuples of attachments, reasons, terms: a few are enough to vary shape

# Real offsets are whole minutes; zoneinfo zones are avoided on purpose: datetimes in a DST
# fold never compare equal across zones (PEP 495), which would test Python, not the schema.
OFFSETS = st.one_of(
    st.just(UTC),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)
AWARE_DATETIMES = st.datetimes(timezones=OFFSETS)  # years 1 to 9999, microseconds included


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    """The constraints pydantic keeps in field metadata, flattened to a dict."""
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):  # `Annotated[str, Field(...)]` inside a union
            found.update(_constraints(item.metadata))
            continue
        for name in (
            "min_length",
            "max_length",
            "ge",
            "gt",
            "le",
            "lt",
            "pattern",
            "allow_inf_nan",
        ):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    return found


def _text(limits: dict[str, Any]) -> st.SearchStrategy[str]:
    if "pattern" in limits:
        return st.from_regex(limits["pattern"], fullmatch=True)
    low = int(limits.get("min_length", 0))
    high = limits.get("max_length")
    # All of Unicode except surrogates (which JSON cannot carry): NUL, emoji, RTL, combining.
    ordinary = st.text(min_size=low, max_size=min(high, 40) if high is not None else 40)
    if high is None:
        return ordinary
    # Exactly the maximum length, built by repetition: drawing 20,000 characters one by one
    # would blow Hypothesis' buffer.
    at_limit = st.text(min_size=1, max_size=8).map(lambda chunk: (chunk * high)[:high])
    return st.one_of(ordinary, at_limit)


def _number(kind: type, limits: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind is int:
        return st.integers(min_value=limits.get("ge"), max_value=limits.get("le"))
    # NaN and ±Infinity whenever the model admits them: JSON cannot carry them.
    special = limits.get("allow_inf_nan", True) and not ({"ge", "le"} & limits.keys())
    return st.floats(
        min_value=limits.get("ge"),
        max_value=limits.get("le"),
        allow_nan=special,
        allow_infinity=special,
    )


def strategy_for(annotation: Any, metadata: list[Any] | None = None) -> st.SearchStrategy[Any]:
    """A strategy for values a model field of this annotation accepts in strict mode."""
    limits = _constraints(metadata or [])
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        return strategy_for(inner, [*(metadata or []), *extra])
    if origin in (Union, types.UnionType):
        return st.one_of(*(strategy_for(arg, metadata) for arg in get_args(annotation)))
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is tuple:
        item, *rest = get_args(annotation)
        assert rest == [Ellipsis], f"fixed-length tuples are not handled: {annotation}"
        low = int(limits.get("min_length", 0))
        items = st.lists(strategy_for(item), min_size=low, max_size=max(low, MAX_COLLECTION))
        return items.map(tuple)
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return model_strategy(annotation)
        if issubclass(annotation, enum.Enum):
            return st.sampled_from(list(annotation))
        if annotation is AwareDatetime:
            return AWARE_DATETIMES
        if annotation is bool:
            return st.booleans()
        if annotation in (int, float):
            return _number(annotation, limits)
        if annotation is str:
            return _text(limits)
        if annotation is uuid.UUID:
            return st.uuids()
    raise NotImplementedError(f"no strategy for {annotation!r}: teach strategy_for about it")


@cache
def model_strategy(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Instances of `model`. A field with a default is sometimes left out, so defaults and
    default factories are exercised as well as explicit values."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    # Model-wide constraints (allow_inf_nan) apply to every field; field metadata overrides.
    config = SimpleNamespace(allow_inf_nan=model.model_config.get("allow_inf_nan", True))
    for name, field in model.model_fields.items():
        values = strategy_for(field.annotation, [config, *field.metadata])
        (required if field.is_required() else optional)[name] = values
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: model(**kw))


def test_the_union_is_exactly_the_modules_event_lists() -> None:
    listed = (*intake.EVENTS, *triage.EVENTS, *routing.EVENTS, *notifier.EVENTS)
    assert set(listed) == set(ALL_EVENTS) == set(EVENT_TYPES.values())
    assert len(listed) == len(set(listed))


@cache
def _wire_validators() -> tuple[jsonschema_rs.Draft202012Validator, dict[str, Any]]:
    """The published document as a whole, and per event type (for errors that name the
    field rather than "not valid under any of the schemas listed in oneOf")."""
    document = json.loads((export.GENERATED_DIR / "events.schema.json").read_text())
    each = {
        name: jsonschema_rs.Draft202012Validator(
            {"$ref": f"#/$defs/{model.__name__}", "$defs": document["$defs"]},
            validate_formats=True,
        )
        for name, model in EVENT_TYPES.items()
    }
    return jsonschema_rs.Draft202012Validator(document, validate_formats=True), each


def _schema_errors(raw: bytes) -> list[str]:
    whole, each = _wire_validators()
    instance = json.loads(raw)
    errors = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in each[instance["event_type"]].iter_errors(instance)
    ]
    if not errors and not whole.is_valid(instance):
        errors.append("valid for its own type but not for the published union")
    return errors


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda model: model.__name__)
def test_every_event_round_trips_and_matches_the_published_schema(
    model: type[EventEnvelope],
) -> None:
    @ROUNDTRIP
    @given(event=model_strategy(model))
    def round_trip(event: EventEnvelope) -> None:
        raw = serialize_event(event)
        parsed = parse_event(raw)
        assert type(parsed) is model
        assert parsed == event
        assert serialize_event(parsed) == raw  # stable: a relay re-serializes byte for byte
        errors = _schema_errors(raw)
        assert not errors, errors

    round_trip()


# --------------------------------------------------------------------------- the strategies


def _nested_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    found = {model}
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                if annotation not in found:
                    found |= _nested_models(annotation)
            else:
                stack.extend(get_args(annotation))
    return found


def _every_model() -> list[type[BaseModel]]:
    models: set[type[BaseModel]] = set()
    for event in ALL_EVENTS:
        models |= _nested_models(event)
    return sorted(models, key=lambda model: model.__name__)


@pytest.mark.parametrize("model", _every_model(), ids=lambda model: model.__name__)
def test_the_strategies_reach_every_field_and_boundary(model: type[BaseModel]) -> None:
    """The round trip can only catch what the strategies generate: each field must take both
    a non-default value and its default, and each string its limits."""
    seen: dict[str, set[str]] = {name: set() for name in model.model_fields}

    @settings(max_examples=300, deadline=None, database=None)
    @given(instance=model_strategy(model))
    def collect(instance: BaseModel) -> None:
        for name, field in model.model_fields.items():
            value = getattr(instance, name)
            default = None if field.is_required() else field.get_default(call_default_factory=False)
            seen[name].add("default" if value == default else "other")
            if value is None:
                seen[name].add("none")
            if isinstance(value, str):
                limits = _constraints(list(field.metadata) + list(get_args(field.annotation)))
                if len(value) == limits.get("max_length"):
                    seen[name].add("max")
                if any(ord(char) > 0x7F for char in value):
                    seen[name].add("unicode")

    collect()
    for name, field in model.model_fields.items():
        constant = get_origin(field.annotation) is Literal and len(get_args(field.annotation)) == 1
        if not constant:  # event_type and schema_version have one value by design
            assert "other" in seen[name], f"{model.__name__}.{name} never varies"
        if not field.is_required() and field.default_factory is None:
            assert "default" in seen[name], f"{model.__name__}.{name} never takes its default"
        limits = _constraints(list(field.metadata))
        if field.annotation is str and "max_length" in limits:
            assert "max" in seen[name], f"{model.__name__}.{name} never reaches max_length"
        if field.annotation is str and "pattern" not in limits:
            assert "unicode" in seen[name], f"{model.__name__}.{name} is never non-ASCII"
