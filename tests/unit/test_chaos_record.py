"""`lapor chaos --record` replaces the latest run in docs/reliability.md and keeps the rest."""

from __future__ import annotations

from ops.cli import with_latest_run


def test_the_latest_run_is_replaced_and_earlier_sections_are_kept() -> None:
    document = "# Reliability\n\n## Latest chaos run\n\nold table\n\n## Earlier runs\n\nkept\n"
    out = with_latest_run(document, "## Latest chaos run\n\nnew table\n")
    assert out == "# Reliability\n\n## Latest chaos run\n\nnew table\n\n## Earlier runs\n\nkept\n"


def test_a_missing_document_gets_just_the_latest_run() -> None:
    latest = "## Latest chaos run\n\nnew table\n"
    assert with_latest_run("", latest) == "# Reliability\n\n" + latest
