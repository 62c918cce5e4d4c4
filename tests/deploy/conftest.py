"""The deployment checks: deploy/ rendered with kustomize and read back.

The tools come from scripts/install-deploy-tools.sh (`make test` runs it): kustomize (the code
`kubectl kustomize` runs), promtool and checkov, in .lapor/tools/bin. A tool that is missing
fails the tests that need it, naming the script and its log; it never skips them.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOOLS = ROOT / ".lapor" / "tools"
OVERLAYS = ("dev", "production")


def tool(name: str) -> Path:
    path = TOOLS / "bin" / name
    if not path.exists():
        log = TOOLS / f"{name}.log"
        why = log.read_text()[-2000:] if log.exists() else "it was never built"
        pytest.fail(
            f"{name} is missing from {path.parent}: run scripts/install-deploy-tools.sh"
            f" (make test does). Its build said:\n{why}"
        )
    return path


@cache
def rendered_text(overlay: str) -> str:
    result = subprocess.run(
        [tool("kustomize"), "build", DEPLOY / "overlays" / overlay],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered(overlay: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in rendered(overlay) if doc["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only
