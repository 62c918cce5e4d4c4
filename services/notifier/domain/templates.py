"""Message templates: Jinja2 files per language (`templates/<lang>/<name>.txt.j2`) and a catalog
(`templates/catalog.yaml`) naming each one's pre-approved WhatsApp template and email subject.

Bahasa Indonesia is the default; English is used when the citizen chose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from schemas.events import Language

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class WhatsAppTemplate:
    """A pre-approved template message: its name, language code and body parameters."""

    name: str
    language: str
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,  # a missing fact fails the test, not the citizen
        autoescape=False,  # plain text for SMS, WhatsApp and text/plain email
        keep_trailing_newline=False,
        trim_blocks=True,
        # The templates ship with the package: no stat of the file on every render.
        auto_reload=False,
    )


@cache
def catalog() -> dict[str, Any]:
    return yaml.safe_load((TEMPLATE_DIR / "catalog.yaml").read_text())


@cache
def _subject(template: str, language: Language) -> Template:
    return _environment().from_string(catalog()[template]["subject"][language.value])


def render(
    template: str, language: Language, context: dict[str, Any], *, subject: bool = True
) -> Rendered:
    """The free text and email subject of `template` in `language`; without `subject` (a
    message that has none: WhatsApp, SMS) the subject is left empty, not rendered."""
    text = _text(template, language).render(context).strip()
    return Rendered(
        subject=_subject(template, language).render(context) if subject else "", text=text
    )


@cache
def _text(template: str, language: Language) -> Template:
    return _environment().get_template(f"{language.value}/{template}.txt.j2")


def render_reply(text: str, language: Language) -> Rendered:
    """A conversational reply: intake wrote the text; only the subject comes from the catalog."""
    return Rendered(subject=catalog()["reply"]["subject"][language.value], text=text)


def whatsapp_template(
    template: str, language: Language, context: dict[str, Any]
) -> WhatsAppTemplate:
    """The named template message to send outside the 24-hour window."""
    entry = catalog()[template]["whatsapp"]
    parameters = tuple(str(context[name]) for name in entry["parameters"])
    return WhatsAppTemplate(name=entry["name"], language=language.value, parameters=parameters)
