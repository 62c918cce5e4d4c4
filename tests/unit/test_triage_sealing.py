"""Triage keeps and publishes the citizen's words only sealed with the reporter's key: the
accepted complaint's summary and the near-duplicate signatures in `area_candidates`; exact
repeats work on the sealed chronology (deterministic per reporter)."""

from __future__ import annotations

from schemas.events import (
    ComplaintAccepted,
    ComplaintDuplicateDetected,
    ComplaintReceived,
    serialize_event,
)
from schemas.personal_data import ERASED, is_sealed, sealed_key_id
from services.personal_data.field_crypto import DataKey, new_data_key, open_model, seal_model
from services.triage.domain.sealing import Keys
from services.triage.handlers.stages import check_reporter_of, decide, keys_needed
from tests.unit.test_triage_duplicates import SECRET, TEXT, Tables, received


def _decide(tables: Tables, sealed: ComplaintReceived, known: dict[str, DataKey | None]) -> object:
    opened = open_model(sealed, known)
    keys = Keys.of(sealed.payload.description, known)
    assert keys_needed(sealed, opened, tables.history) <= set(known)
    return decide(opened, None, tables.history, tables.decisions, keys)


def test_the_summary_and_the_candidate_signature_are_sealed_with_the_reporters_key() -> None:
    key = new_data_key()
    tables = Tables()
    decision = _decide(tables, seal_model(received(), key), {key.key_id: key})
    assert isinstance(decision, ComplaintAccepted)
    summary = decision.payload.summary
    assert sealed_key_id(summary) == key.key_id and key.open(summary) == TEXT
    stored = repr(tables.history.candidates) + "".join(
        serialize_event(event).decode() for event in tables.decisions.values()
    )
    # matched_terms name the classifier's own vocabulary ("jembatan"), not the citizen's text
    for word in ("Cibiru", "cibiru", "penghubung", "bergoyang", "goyang", "mobil"):
        assert word not in stored


def test_a_near_duplicate_is_found_through_sealed_signatures_until_its_reporter_is_erased() -> None:
    first, second = new_data_key(), new_data_key()
    tables = Tables()
    both = {first.key_id: first, second.key_id: second}
    _decide(tables, seal_model(received(), first), both)
    again = seal_model(received(nik="3273011501900002"), second)
    assert isinstance(_decide(tables, again, both), ComplaintDuplicateDetected)
    erased = {first.key_id: None, second.key_id: second}
    later = seal_model(received(nik="3273011501900003"), second)
    assert isinstance(_decide(tables, later, erased), ComplaintAccepted)


def test_an_erased_reporters_summary_is_empty_and_shows_as_erased_to_reviewers() -> None:
    key = new_data_key()
    sealed = key.seal(TEXT)
    assert Keys.of(sealed, {key.key_id: None}).summary(sealed) == ""
    assert key.open(Keys.of(sealed, {key.key_id: key}).summary(sealed)) == TEXT
    assert Keys().summary(TEXT) == TEXT  # unsealed complaints (older producers) stay plain
    assert ERASED == "(data erased)"


def test_an_exact_repeat_is_found_on_the_sealed_chronology() -> None:
    key = new_data_key()
    tables = Tables()
    first = seal_model(received(), key)
    check_reporter_of(first, SECRET, tables.history)
    again = seal_model(received(), key)
    assert is_sealed(again.payload.description)
    findings = check_reporter_of(again, SECRET, tables.history)
    assert findings.repeat_of is not None
    assert findings.repeat_of.complaint_id == str(first.complaint_id)
    assert "Jembatan" not in repr(tables.history.repeats)
