"""The citizen's words in what triage keeps and publishes, pure: sealed with the reporter's
data key, as the chronology itself is (docs/personal-data.md).

Triage opens the chronology in memory to classify it and to compare it with earlier complaints;
what it writes anywhere (the accepted complaint's summary, the near-duplicate signature in the
`area_candidates` table) is sealed again with the same reporter's key, so erasing the
reporter leaves nothing readable behind. The keys are fetched before the pure handlers run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from schemas.personal_data import sealed_key_id
from services.personal_data.field_crypto import DataKey, open_value
from services.triage.domain.rules import SUMMARY_CHARS

# What a reviewer sees in place of an erased reporter's words.


@dataclass(frozen=True)
class Keys:
    """Known data keys (None: erased) and `key_id`, the reporter's own (None: the complaint
    came unsealed, from older producers or tests: texts then stay plain)."""

    known: Mapping[str, DataKey | None] = field(default_factory=dict)
    key_id: str | None = None
    # Sealed values opened so far (a batch compares each candidate with many complaints):
    # shared by the keys `of_reporter` derives, kept in memory for the batch only.
    opened: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, sealed_text: str, known: Mapping[str, DataKey | None]) -> Keys:
        """The keys for the reporter who wrote `sealed_text` (their chronology as received)."""
        return cls(known, sealed_key_id(sealed_text))

    def of_reporter(self, sealed_text: str) -> Keys:
        """The same known keys (and opened values) for the reporter who wrote `sealed_text`."""
        return replace(self, key_id=sealed_key_id(sealed_text))

    def seal(self, text: str) -> str | None:
        """`text` sealed with the reporter's key; None when that key was erased."""
        if self.key_id is None:
            return text
        key = self.known.get(self.key_id)
        return None if key is None else key.seal(text)

    def open(self, value: str) -> str | None:
        """A sealed value in the clear (a plain one as it is); None once its key is gone."""
        if value in self.opened:
            return self.opened[value]
        plain = self.opened[value] = open_value(value, self.known)
        return plain

    def summary(self, description: str) -> str:
        """The start of the chronology (sealed or opened), sealed for agencies; empty when
        the reporter was erased."""
        text = self.open(description)
        if text is None:
            return ""
        return self.seal(text[:SUMMARY_CHARS]) or ""


NO_KEYS = Keys()
