"""The Docker path and the CI entry stay in step with the local path."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops.infra import KAFKA_VERSION

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "triage", "routing", "notifier")


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_uses_the_same_kafka_version_and_healthchecks() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert "healthcheck" in services["kafka"] and "healthcheck" in services["postgres"]
    assert services["postgres"]["image"].startswith("postgres:")


def test_compose_builds_every_service_from_one_dockerfile_and_scales() -> None:
    services = compose()["services"]
    for name in SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "packaging/Dockerfile"
        assert service["command"] == ["python", "-m", f"services.{name}"]
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
    # Only intake binds a host port, so the consumers can be scaled to several replicas.
    assert [name for name in SERVICES if "ports" in services[name]] == ["intake"]
    assert "HEALTHCHECK" in (ROOT / "packaging" / "Dockerfile").read_text()


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"Run every test:\s*```(?:sh|bash)?\s*\n(.+?)\n```", readme, re.S)
    assert match, "README must show the test command under 'Run every test:'"
    assert match.group(1).strip() in (ROOT / ".ci" / "run").read_text()


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker client here has no compose plugin",
)
def test_docker_compose_config_is_valid() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
