"""The deployment files say what docs/operations.md promises: workers without database credentials,
non-root containers with limits, GPU workers on GPU nodes, one beat, TLS and hidden internals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _k8s() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["spec"]["template"]["spec"]["containers"]


def test_every_kubernetes_workload_runs_as_non_root_with_limits() -> None:
    deployments = [d for d in _k8s() if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {
        "web",
        "platform-worker",
        "beat",
        "cpu-worker",
        "gpu-worker",
    }
    for deployment in deployments:
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in _containers(deployment):
            assert container["resources"]["limits"]["memory"] and container["resources"]["limits"]["cpu"]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_analysis_workers_hold_no_database_credentials_and_cannot_reach_postgres() -> None:
    documents = _k8s()
    secrets = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Secret"}
    assert "DATABASE_URL" not in secrets["interlock-worker"]["stringData"]
    for name in ("cpu-worker", "gpu-worker"):
        worker = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == name)
        for container in _containers(worker):
            refs = {ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref}
            assert refs == {"interlock-worker"}
            assert all(env["name"] != "DATABASE_URL" for env in container.get("env", []))
    policy = next(d for d in documents if d["kind"] == "NetworkPolicy")
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert 5432 not in ports and {8000, 5672} <= ports


def test_gpu_workers_land_on_gpu_nodes_and_scale_with_their_queue() -> None:
    documents = _k8s()
    gpu = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "gpu-worker")
    spec = gpu["spec"]["template"]["spec"]
    assert spec["nodeSelector"] and spec["tolerations"]
    assert _containers(gpu)[0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    scalers = {
        d["spec"]["scaleTargetRef"]["name"] for d in documents if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert scalers == {"cpu-worker", "gpu-worker"}
    beat = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "beat")
    assert beat["spec"]["replicas"] == 1


def test_compose_has_the_documented_services_and_keeps_workers_off_the_database() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "rabbitmq",
        "web",
        "platform-worker",
        "beat",
        "cpu-worker",
        "gpu-worker",
        "nginx",
    }
    for worker in ("cpu-worker", "gpu-worker"):
        assert services[worker]["networks"] == ["jobs"] and services[worker]["env_file"] == [
            "secrets/worker.env"
        ]
    assert "data" not in services["rabbitmq"]["networks"] or "postgres" not in services["rabbitmq"]
    assert services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == [
        "gpu"
    ]
    nginx = (DEPLOY / "nginx" / "interlock.conf").read_text()
    assert "Strict-Transport-Security" in nginx and "location /internal/ { return 404; }" in nginx
    assert "proxy_request_buffering off" in nginx
    assert "limit_req zone=interlock_per_address" in nginx and "limit_req_status 429" in nginx


def test_systemd_units_are_hardened_and_the_worker_cannot_read_platform_secrets() -> None:
    units = {path.name: path.read_text() for path in (DEPLOY / "systemd").glob("*.service")}
    assert len(units) == 4
    for text in units.values():
        assert "NoNewPrivileges=true" in text and "ProtectSystem=strict" in text and "PrivateTmp=true" in text
    worker = units["interlock-analysis-worker@.service"]
    assert "User=interlock-worker" in worker and "MemoryMax=" in worker
    assert "InaccessiblePaths=/var/lib/interlock /etc/interlock/platform.env" in worker
    assert "platform.env" not in worker.split("EnvironmentFile=")[1].splitlines()[0]


def _variables_the_code_reads() -> set[str]:
    import re

    root = DEPLOY.parent
    pattern = re.compile(
        r'(?:env\.(?:str|int|bool|float|list)\(|os\.environ\.get\(|_required_in_production\(|read\()"([A-Z][A-Z0-9_]+)"'
    )
    names: set[str] = set()
    for folder in ("platform/interlock", "analysis_workers"):
        for path in (root / folder).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def test_every_variable_the_deployment_sets_is_one_the_code_reads() -> None:
    known = _variables_the_code_reads() | {"PYTHONPATH"}
    assert {"DATABASE_URL", "WORKER_DEVICE", "PLATFORM_RESULT_PUBLIC_KEY_FILE"} <= known  # the scan works
    set_by_deploy: set[str] = set()
    for document in _k8s():
        if document["kind"] == "ConfigMap":
            set_by_deploy |= set(document["data"])
        if document["kind"] == "Secret":
            set_by_deploy |= set(document["stringData"])
        if document["kind"] == "Deployment":
            for container in _containers(document):
                set_by_deploy |= {env["name"] for env in container.get("env", [])}
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name in ("web", "platform-worker", "beat", "cpu-worker", "gpu-worker"):
        set_by_deploy |= set(compose["services"][name].get("environment", {}))
    for path in (DEPLOY / "systemd").glob("*.service"):
        for line in path.read_text().splitlines():
            if line.startswith("Environment="):
                set_by_deploy |= {pair.split("=")[0] for pair in line.removeprefix("Environment=").split()}
    assert sorted(set_by_deploy - known) == []
    platform_secret = next(
        d for d in _k8s() if d["kind"] == "Secret" and d["metadata"]["name"] == "interlock-platform"
    )
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= set(platform_secret["stringData"])
    # every image is the project's own, or a pinned major version of a public one
    images = [c["image"] for d in _k8s() if d["kind"] == "Deployment" for c in _containers(d)]
    images += [s["image"] for s in compose["services"].values() if "image" in s]
    assert all((":" in image and not image.endswith(":latest")) or "interlock" in image for image in images)


def test_every_web_service_behind_the_shipped_nginx_trusts_exactly_one_proxy() -> None:
    """Behind nginx with TRUSTED_PROXY_COUNT unset every person has nginx's address, and five bad
    passwords from anyone lock the whole network out (axes locks by address too). Mutant: the
    setting removed from any one of the three deployments → red."""
    import re

    nginx = (DEPLOY / "nginx" / "interlock.conf").read_text()
    upstreams = set(re.findall(r"proxy_pass http://([\w.-]+):\d+;", nginx))
    assert upstreams == {"web"} and "X-Forwarded-For $proxy_add_x_forwarded_for" in nginx
    # compose: the services nginx proxies to
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert "web" in services["nginx"]["depends_on"]
    for name in upstreams:
        assert services[name]["environment"]["TRUSTED_PROXY_COUNT"] == "1", name
    # Kubernetes: the Deployments behind the Ingress's backend Service
    documents = _k8s()
    backends = {
        path["backend"]["service"]["name"]
        for d in documents
        if d["kind"] == "Ingress"
        for rule in d["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    selectors = [
        d["spec"]["selector"]
        for d in documents
        if d["kind"] == "Service" and d["metadata"]["name"] in backends
    ]
    behind = [
        d
        for d in documents
        if d["kind"] == "Deployment"
        and any(s.items() <= d["spec"]["template"]["metadata"]["labels"].items() for s in selectors)
    ]
    assert [d["metadata"]["name"] for d in behind] == ["web"]
    for deployment in behind:
        for container in _containers(deployment):
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env.get("TRUSTED_PROXY_COUNT") == "1", deployment["metadata"]["name"]
    # systemd: every unit that runs the web server
    web_units = [
        path
        for path in (DEPLOY / "systemd").glob("*.service")
        if "gunicorn interlock.wsgi" in path.read_text()
    ]
    assert [path.name for path in web_units] == ["interlock-web.service"]
    for path in web_units:
        assert "Environment=TRUSTED_PROXY_COUNT=1" in path.read_text().splitlines(), path.name
