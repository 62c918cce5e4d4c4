"""The one event schema every Lapor service speaks.

- `schemas.events`: the envelope and a typed payload per event type (pydantic v2, strict,
  extra fields forbidden), as one discriminated union on `event_type`.
- `schemas.topics`: topic names, keys and partition counts.
- `schemas.personal_data`: the marker for personal-data fields and the masking built on it.
- `schemas.document_links`: signed links to a complaint's document (intake serves them).
- `schemas.export`: JSON Schema and AsyncAPI 3.0 documents, checked into `schemas/generated/`.

Compatibility rule
------------------
Consumers must accept every event a producer may send. So, within one `schema_version`:

- adding an optional field (with a default) is allowed only together with a release of all
  consumers first, because models forbid unknown fields; treat it as a minor change and
  deploy consumers before producers;
- adding an event type to a topic is allowed the same way (consumers first);
- removing or renaming a field, changing a field's type or meaning, making an optional field
  required, or moving an event type to another topic needs a new `schema_version` (and, when
  consumers cannot read both, a new topic with a `.v2` suffix).

A consumer that sees a version it does not know dead-letters the message with the reason;
it never guesses.
"""
