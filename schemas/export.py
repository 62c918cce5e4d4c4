"""Export the event schema as JSON Schema and as an AsyncAPI 3.0 document.

Both are checked into `schemas/generated/`; `lapor schemas export --check` (and a unit test)
fails when they are stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from schemas.events import EVENT_TYPES, event_json_schema
from schemas.topics import EVENT_TOPICS, SERVICES, dead_letter_topic

GENERATED_DIR = Path(__file__).resolve().parent / "generated"


def json_schema_document() -> dict[str, Any]:
    schema = event_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Lapor event"
    return schema


def asyncapi_document() -> dict[str, Any]:
    components_schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, model in EVENT_TYPES.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            components_schemas[name] = definition
        components_schemas[event_type] = schema
        messages[event_type] = {
            "name": event_type,
            "title": event_type,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{event_type}"},
        }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in EVENT_TOPICS:
        channel_id = spec.base_name.replace(".", "_")
        channels[channel_id] = {
            "address": spec.base_name,
            "description": f"{spec.description} Key: {spec.key}. Partitions: {spec.partitions}.",
            "messages": {
                event_type: {"$ref": f"#/components/messages/{event_type}"}
                for event_type in spec.event_types
            },
        }
        operations[f"{spec.producer}_publishes_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"{spec.producer} publishes",
        }
    for service in SERVICES:
        spec = dead_letter_topic(service)
        channels[spec.base_name.replace(".", "_")] = {
            "address": spec.base_name,
            "description": (
                f"{spec.description} The value is the original bytes; headers x-error, "
                "x-source-topic, x-source-partition, x-source-offset."
            ),
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Lapor complaint pipeline",
            "version": "1.0.0",
            "description": (
                "Events between Lapor's intake, triage, routing and notifier services. "
                "Fields marked x-personal-data hold personal data under UU PDP."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": components_schemas, "messages": messages},
    }


def rendered() -> dict[str, str]:
    return {
        "events.schema.json": json.dumps(json_schema_document(), indent=2, sort_keys=True) + "\n",
        "asyncapi.yaml": yaml.safe_dump(asyncapi_document(), sort_keys=True, allow_unicode=True),
    }


def stale_files(directory: Path = GENERATED_DIR) -> list[str]:
    return [
        name
        for name, text in rendered().items()
        if not (directory / name).exists() or (directory / name).read_text() != text
    ]


def write(directory: Path = GENERATED_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths
