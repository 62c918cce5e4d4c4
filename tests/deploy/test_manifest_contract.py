"""What must hold in the rendered manifests, read from the code rather than copied: each
consumer service scales on its real consumer group and topics (schemas/topics.py and the
service's own wiring) up to the partitions there are; probes point at routes the service
serves; production gives every setting docs/operations.md says it must, from Secrets or the
site's ConfigMap, and each service then starts its build under LAPOR_ENV=production."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from schemas.topics import EVENT_TOPICS, all_topics, consumer_group
from services.personal_data.field_crypto import new_master_key
from services.runtime.settings import UnsafeConfiguration
from tests.deploy.conftest import ROOT, container, objects

pytestmark = pytest.mark.deploy
SERVICES = ("intake", "triage", "routing", "notifier", "backoffice")
PARTITIONS = {spec.base_name: spec.partitions for spec in EVENT_TOPICS}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only what a manifest gives: no LAPOR_* of the machine (a topic prefix, say)."""
    for name in list(os.environ):
        if name.startswith("LAPOR_"):
            monkeypatch.delenv(name)
    yield


def build(service: str) -> Any:
    """The service as its bootstrap builds it (no I/O until it runs)."""
    from services.runtime.lifecycle import Settings

    if service == "triage":
        from services.triage.bootstrap import build_app

        return build_app(Settings())
    module = __import__(f"services.{service}.bootstrap", fromlist=["build"])
    return module.build(Settings())


def consumed_topics(service: str) -> set[str]:
    """The base names of the topics the service consumes (a module may have been imported
    under the tests' topic prefix: the names are matched by their end)."""
    built = build(service)
    if service == "triage":
        names = {agent.channel.get_topic_name() for agent in built.app.agents.values()}
    else:
        names = set(built.consumes)
    bases = {
        spec.base_name for spec in EVENT_TOPICS for name in names if name.endswith(spec.base_name)
    }
    assert len(bases) == len(names), f"{service} consumes topics outside schemas/topics.py: {names}"
    return bases


def served_paths(service: str) -> set[str]:
    built = build(service)
    if service == "triage":
        return set(built.app.web.reverse_names.values())
    return {getattr(route, "path", "") for route in built.served_app().routes}


def kafka_triggers(scaled: dict[str, Any]) -> list[dict[str, str]]:
    return [t["metadata"] for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]


def test_every_consumer_service_scales_on_its_own_group_and_topics() -> None:
    scaled_objects = objects("production", "ScaledObject")
    consumers = {service for service in SERVICES if consumed_topics(service)}
    assert consumers == {"intake", "triage", "routing", "notifier"}
    by_target = {so["spec"]["scaleTargetRef"]["name"]: so for so in scaled_objects.values()}
    assert set(by_target) == {f"lapor-{service}" for service in consumers}
    for service in consumers:
        scaled = by_target[f"lapor-{service}"]
        triggers = kafka_triggers(scaled)
        assert {t["topic"] for t in triggers} == consumed_topics(service), service
        assert {t["consumerGroup"] for t in triggers} == {consumer_group(service)}, service
        for trigger in triggers:
            assert trigger["bootstrapServersFromEnv"] == "LAPOR_KAFKA_BOOTSTRAP"
            assert int(trigger["lagThreshold"]) > 0
        fewest = min(PARTITIONS[t["topic"]] for t in triggers)
        spec = scaled["spec"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= fewest, service


def test_no_second_autoscaler_on_a_scaled_deployment() -> None:
    """KEDA makes the HPA of a ScaledObject; another HPA on the same Deployment would fight
    it. Intake's HTTP side scales on CPU inside its ScaledObject."""
    scaled = {
        so["spec"]["scaleTargetRef"]["name"]
        for so in objects("production", "ScaledObject").values()
    }
    hpas = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in objects("production", "HorizontalPodAutoscaler").values()
    }
    assert not scaled & hpas
    assert hpas == {"lapor-backoffice"}
    intake = objects("production", "ScaledObject")["lapor-intake"]
    assert "cpu" in {t["type"] for t in intake["spec"]["triggers"]}


def test_dev_runs_one_of_each_without_autoscaling() -> None:
    assert not objects("dev", "ScaledObject") and not objects("dev", "HorizontalPodAutoscaler")
    deployments = objects("dev", "Deployment")
    assert set(deployments) == {f"lapor-{service}" for service in SERVICES}
    assert {d["spec"]["replicas"] for d in deployments.values()} == {1}


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_each_deployment_runs_its_service_safely_with_probes_it_serves(overlay: str) -> None:
    deployments = objects(overlay, "Deployment")
    for service in SERVICES:
        deployment = deployments[f"lapor-{service}"]
        pod = deployment["spec"]["template"]["spec"]
        main = container(deployment)
        assert main["command"] == ["python", "-m", f"services.{service}"]
        paths = served_paths(service)
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert main[probe]["httpGet"]["path"] in paths, (service, probe)
            assert main[probe]["httpGet"]["port"] == "http"
        [port] = main["ports"]
        config = objects(overlay, "ConfigMap")
        [settings] = [c for name, c in config.items() if name.startswith("lapor-config")]
        assert str(port["containerPort"]) == settings["data"]["LAPOR_HTTP_PORT"]
        assert pod["terminationGracePeriodSeconds"] >= 60  # batch, relay drain, sends
        assert pod["securityContext"]["runAsNonRoot"] is True
        context = main["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        resources = main["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
        assert objects(overlay, "PodDisruptionBudget")[f"lapor-{service}"]


def production_environment(service: str) -> dict[str, str]:
    """The variables the production Deployment gives the service, with stand-in values for
    what comes from the Secret and the site's ConfigMap (master and identity keys in their
    format)."""
    deployment = objects("production", "Deployment")[f"lapor-{service}"]
    main = container(deployment)
    config = objects("production", "ConfigMap")
    env: dict[str, str] = {}
    for source in main.get("envFrom", []):
        wanted = source["configMapRef"]["name"]
        [data] = [c["data"] for name, c in config.items() if name.startswith(wanted)]
        env.update(data)
    for item in main.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        reference = item["valueFrom"].get("secretKeyRef") or item["valueFrom"]["configMapKeyRef"]
        if reference.get("optional"):
            continue  # a provider switched off: the feature fails closed
        env[item["name"]] = stand_in(item["name"])
    return env


def stand_in(name: str) -> str:
    if name == "LAPOR_MASTER_KEYS":
        return f"v1:{new_master_key()}"
    if name.endswith("_URL") and name != "LAPOR_DATABASE_URL":
        return "https://lapor.example.go.id"
    return f"stand-in-for-{name.lower()}"


@pytest.mark.parametrize("service", SERVICES)
def test_production_gives_each_service_what_it_refuses_to_start_without(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = production_environment(service)
    assert env["LAPOR_ENV"] == "production"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    build(service)  # raises UnsafeConfiguration (or a key error) for anything missing
    # And the check can fail: without the database's credentials the build refuses.
    monkeypatch.delenv("LAPOR_DATABASE_URL")
    with pytest.raises(UnsafeConfiguration, match="LAPOR_DATABASE_URL"):
        build(service)


def documented_required_settings() -> set[str]:
    """The variables of docs/operations.md's "Refused at start when missing" table."""
    text = (ROOT / "docs" / "operations.md").read_text()
    table = text.split("Refused at start when missing", 1)[1]
    table = table.split("Refused at start when set", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `LAPOR_")]
    return {name for row in rows for name in re.findall(r"`(LAPOR_[A-Z_]+)", row.split("|")[1])}


def test_every_setting_operations_requires_is_referenced_in_production() -> None:
    required = documented_required_settings()
    assert {"LAPOR_ENV", "LAPOR_DATABASE_URL", "LAPOR_MASTER_KEYS"} <= required
    given: set[str] = set()
    for service in SERVICES:
        given |= set(production_environment(service))
    assert required <= given, f"not given in production: {sorted(required - given)}"


def secret_references(overlay: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, deployment in objects(overlay, "Deployment").items():
        for item in container(deployment).get("env", []):
            reference = item.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                yield name, {**reference, "env": item["name"]}


def test_secrets_come_from_the_cluster_never_from_the_repository() -> None:
    assert not objects("production", "Secret"), "production must not carry secret values"
    references = list(secret_references("production"))
    assert references
    for deployment, reference in references:
        assert reference["name"] == "lapor-secrets"
        if reference["env"] == "LAPOR_DATABASE_URL":  # one database role per service
            service = deployment.removeprefix("lapor-").upper()
            assert reference["key"] == f"LAPOR_DATABASE_URL_{service}"
        else:
            assert reference["key"] == reference["env"]
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    for _, reference in references:
        if not reference.get("optional"):
            assert reference["key"] in docs, f"docs/kubernetes.md does not name {reference['key']}"


def test_the_kubernetes_docs_list_every_topic_with_its_partitions() -> None:
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    for spec in all_topics():
        assert f"| `{spec.base_name}` | {spec.partitions} |" in docs, spec.base_name
