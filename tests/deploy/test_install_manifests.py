"""Kubernetes manifests and the systemd unit: the fields an install relies on, and no secret values."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY, output, run, tool

KUBERNETES = DEPLOY / "kubernetes" / "base"
UNIT = DEPLOY / "systemd" / "verify-staging.service"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((KUBERNETES / name).read_text())
    return loaded


def settings_database_dir() -> str:
    settings = yaml.safe_load((DEPLOY / "settings.example.yml").read_text())
    return str(Path(settings["database"]).parent)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    resources = load("kustomization.yml")["resources"]
    on_disk = {path.name for path in KUBERNETES.glob("*.yml")} - {"kustomization.yml", "secret.example.yml"}
    assert set(resources) == on_disk
    for name in resources:
        assert {"apiVersion", "kind", "metadata"} <= load(name).keys(), name


def test_deployment_is_a_single_writer() -> None:
    spec = load("deployment.yml")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert "one writer" in (KUBERNETES / "deployment.yml").read_text()


def test_probes_ask_healthz_on_the_served_port() -> None:
    container = load("deployment.yml")["spec"]["template"]["spec"]["containers"][0]
    port = next(p for p in container["ports"] if p["name"] == "http")["containerPort"]
    assert container["command"][:2] == ["verify-staging", "serve"]
    assert container["command"][container["command"].index("--port") + 1] == str(port)
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    service = load("service.yml")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert (
        service["spec"]["selector"].items() <= load("deployment.yml")["spec"]["template"]["metadata"]["labels"].items()
    )


def test_database_is_on_the_persistent_volume() -> None:
    pod = load("deployment.yml")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["data"] == settings_database_dir()
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == load("pvc.yml")["metadata"]["name"]


def test_secrets_and_settings_are_references_only() -> None:
    pod = load("deployment.yml")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    secret_name = load("secret.example.yml")["metadata"]["name"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "JIRA_TOKEN"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == secret_name, name
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["secret-files"]["secret"]["secretName"] == secret_name
    assert volumes["settings"]["configMap"]["name"] == "verify-staging-settings"
    assert all(value == "" for value in load("secret.example.yml")["stringData"].values())


def test_pod_runs_restricted() -> None:
    pod = load("deployment.yml")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    context = pod["containers"][0]["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]


def unit_entries() -> list[tuple[str, str, str]]:
    section = ""
    entries = []
    for line in UNIT.read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entries.append((section, key, value))
    return entries


def test_systemd_unit_runs_serve_with_its_state_directory() -> None:
    entries = unit_entries()
    service = {key: value for section, key, value in entries if section == "Service"}
    assert re.search(r"/verify-staging serve( |$)", service["ExecStart"])
    assert service["StateDirectory"] == "verify-staging"
    assert f"/var/lib/{service['StateDirectory']}" == settings_database_dir()
    assert ("Install", "WantedBy", "multi-user.target") in entries
    assert not re.search(r"(SECRET|TOKEN|PASSWORD)=\S", UNIT.read_text())


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    # systemd-analyze verify checks that ExecStart exists: point it at this checkout's installed entry point.
    entry_point = Path(sys.executable).parent / "verify-staging"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/verify-staging/bin/verify-staging", str(entry_point)))
    result = run(tool("systemd-analyze"), "verify", "--man=no", unit)
    assert result.returncode == 0 and not result.stderr.strip(), output(result)
    result = run(tool("systemd-analyze"), "security", "--offline=true", "--no-pager", unit)
    exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert exposure, output(result)
    # systemd rates exposure from 0 (locked down) to 10 (unprotected); 2 or less is rated OK.
    assert float(exposure.group(1)) <= 2.0, result.stdout


#: The longest a shutdown may take to restore what a running verification stopped (issue 12 §7): an undo over SSH
#: retries for up to ~100 s; SIGKILL must not come sooner than this.
STOP_GRACE_SECONDS = 150


def test_kubernetes_lets_a_running_undo_finish_and_keeps_one_writer_on_the_volume() -> None:
    pod = load("deployment.yml")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= STOP_GRACE_SECONDS
    assert load("pvc.yml")["spec"]["accessModes"] == ["ReadWriteOncePod"]


def test_systemd_unit_lets_a_running_undo_finish_and_caps_memory() -> None:
    service = {key: value for section, key, value in unit_entries() if section == "Service"}
    assert int(service["TimeoutStopSec"]) >= STOP_GRACE_SECONDS
    memory_max = re.fullmatch(r"(\d+)([KMG])", service["MemoryMax"])
    assert memory_max, service["MemoryMax"]
    assert int(memory_max.group(1)) * {"K": 2**10, "M": 2**20, "G": 2**30}[memory_max.group(2)] <= 2**30


# ---- issue 16 §3: one replica on SQLite (the default) or two on PostgreSQL ----------------------------------------
def built(directory: Path) -> dict[str, dict[str, Any]]:
    """`kubectl kustomize` of a variant (no cluster needed): kind -> the object."""
    result = run(tool("kubectl"), "kustomize", directory)
    assert result.returncode == 0, output(result)
    return {doc["kind"]: doc for doc in yaml.safe_load_all(result.stdout) if doc}


def test_the_default_kustomization_is_one_sqlite_replica_that_is_recreated() -> None:
    objects = built(DEPLOY / "kubernetes")
    spec = objects["Deployment"]["spec"]
    assert (spec["replicas"], spec["strategy"]) == (1, {"type": "Recreate"})
    assert "PersistentVolumeClaim" in objects and "PodDisruptionBudget" not in objects


def test_the_postgres_variant_runs_two_replicas_that_roll_and_survive_a_drain() -> None:
    objects = built(DEPLOY / "kubernetes" / "postgres")
    deployment = objects["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    pdb = objects["PodDisruptionBudget"]
    assert pdb["metadata"]["namespace"] == deployment["metadata"]["namespace"] == "verify-staging"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "verify-staging-secrets", "key": "DATABASE_URL"}
    assert "DATABASE_URL" in load("secret.example.yml")["stringData"]
    # Ready only once /healthz answers 200, which it does only while the database answers (bot/web.py).
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert "PersistentVolumeClaim" not in objects
    assert {v["name"]: v for v in pod["volumes"]}["data"] == {"name": "data", "emptyDir": {}}
    assert pod["terminationGracePeriodSeconds"] >= STOP_GRACE_SECONDS
