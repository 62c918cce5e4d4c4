"""Both overlays render, every object validates against its schema, and checkov finds no
failed check that is not explained next to the object."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, OVERLAYS, rendered, rendered_text, tool

pytestmark = pytest.mark.deploy
KUBERNETES_VERSION = "1.33.0"
CRD_FILES = sorted((DEPLOY / "schemas").glob("*/*.yaml"))


def python_patterns(schema: Any) -> Any:
    """The CRDs' patterns are Go regular expressions; Python takes a flag like `(?i)` only at
    the start (`^(?i)(abort|warn)?$` → `(?i)^(abort|warn)?$`)."""
    if isinstance(schema, dict):
        fixed = {key: python_patterns(value) for key, value in schema.items()}
        pattern = fixed.get("pattern")
        if isinstance(pattern, str) and "(?i)" in pattern[1:]:
            fixed["pattern"] = "(?i)" + pattern.replace("(?i)", "")
        return fixed
    if isinstance(schema, list):
        return [python_patterns(item) for item in schema]
    return schema


def validate_crd_object(doc: dict[str, Any], schema: dict[str, Any]) -> None:
    # OpenAPI v3 schemas: Draft 7 is the nearest JSON Schema; metadata is the API server's.
    body = {key: value for key, value in doc.items() if key != "metadata"}
    jsonschema.Draft7Validator(schema).validate(body)


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → the vendored CRD's openAPIV3Schema, for every served version."""
    schemas = {}
    for path in CRD_FILES:
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version["served"]:
                schema = python_patterns(version["schema"]["openAPIV3Schema"])
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def test_the_vendored_crds_say_where_they_come_from() -> None:
    notes = (DEPLOY / "schemas" / "README.md").read_text()
    for path in CRD_FILES:
        assert path.name in notes, f"{path.name}: its version and source are not noted"
        assert (path.parent / "LICENSE").exists()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_kubernetes_or_its_crd(overlay: str) -> None:
    crds = crd_schemas()
    kinds = set()
    for doc in rendered(overlay):
        kinds.add(doc["kind"])
        key = (doc["apiVersion"], doc["kind"])
        if key in crds:
            validate_crd_object(doc, crds[key])
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= kinds


def test_the_crd_check_rejects_a_wrong_object() -> None:
    """The CRD schemas are really applied: a ScaledObject without its target fails."""
    crds = crd_schemas()
    [scaled] = [d for d in rendered("production") if d["kind"] == "ScaledObject"][:1]
    broken = {**scaled, "spec": {k: v for k, v in scaled["spec"].items() if k != "scaleTargetRef"}}
    with pytest.raises(jsonschema.ValidationError, match="scaleTargetRef"):
        validate_crd_object(broken, crds[(scaled["apiVersion"], "ScaledObject")])
    deployment = next(d for d in rendered("production") if d["kind"] == "Deployment")
    wrong = json.loads(json.dumps(deployment))
    wrong["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSION, strict=True)


def skip_reasons() -> dict[tuple[str, str], str]:
    """(checkov's resource id, check id) → the reason in the object's `checkov.io/skip*`
    annotation (checkov honours them but does not report their text)."""
    reasons = {}
    for overlay in OVERLAYS:
        for doc in rendered(overlay):
            meta = doc["metadata"]
            resource = f"{doc['kind']}.{meta.get('namespace', 'default')}.{meta['name']}"
            for key, value in (meta.get("annotations") or {}).items():
                if key.startswith("checkov.io/skip"):
                    check, _, reason = value.partition("=")
                    reasons[(resource, check)] = reason
    return reasons


def checkov(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [
            tool("checkov"),
            "--directory",
            directory,
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_checkov_fails_nothing_and_every_skip_says_why(tmp_path: Path) -> None:
    for overlay in OVERLAYS:
        (tmp_path / f"{overlay}.yaml").write_text(rendered_text(overlay))
    reports = checkov(tmp_path)
    assert reports and all(report["check_type"] == "kubernetes" for report in reports)
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed:\n" + "\n".join(failed)
    reasons = skip_reasons()
    skipped = [c for report in reports for c in report["results"]["skipped_checks"]]
    assert skipped, "the skips below are expected to be seen by checkov"
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in skipped
        if len(reasons.get((c["resource"], c["check_id"]), "")) < 20
    ]
    assert not unexplained, f"skipped without a reason next to the object: {unexplained}"
    assert sum(report["summary"]["passed"] for report in reports) > 100
