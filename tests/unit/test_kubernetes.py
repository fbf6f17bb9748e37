"""deploy/kubernetes and labkit.hub.kubernetes, held to the Kubernetes API's schemas.

Nothing here talks to a cluster (there is none on this machine, docs/kubernetes.md says
so): every manifest the hooks would create, and every static one, is validated against
the Kubernetes 1.30 OpenAPI schemas (strict: no unknown fields), and the design's
promises (isolation, NET_ADMIN only, one node per lab) are checked on the manifests."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from labkit.errors import UsageError
from labkit.hub import kubernetes as k8s
from labkit.hub.kubernetes import KubeLab, capacity, lab_manifests, namespace_for

DEPLOY = Path(__file__).parents[2] / "deploy" / "kubernetes"
VERSION = "1.30"
USERS = ["ann", "Bob.Smith", "jez@zimmerman.test", "x" * 80]


def _validate(manifest: dict) -> None:
    kubernetes_validate.validate(manifest, VERSION, strict=True)


@pytest.mark.parametrize("user", USERS)
def test_every_manifest_of_a_learners_lab_is_valid(user):
    lab = KubeLab(namespace=namespace_for(user), storage_class="standard")
    manifests = lab_manifests(lab)
    for manifest in manifests:
        _validate(manifest)
        assert manifest["metadata"]["namespace"] == lab.namespace
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds.count("Pod") == 3 and kinds.count("Service") == 4
    assert kinds.count("NetworkPolicy") == 4 and kinds.count("PersistentVolumeClaim") == 1


def test_namespace_names_are_dns_labels():
    for user in USERS:
        name = namespace_for(user)
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63, name
    with pytest.raises(UsageError):
        namespace_for("@@@")


def test_a_broken_manifest_is_caught_by_the_schema_check():
    pod = next(m for m in lab_manifests(KubeLab("labkit-ann")) if m["kind"] == "Pod")
    pod["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] = "NET_ADMIN"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(pod)


def test_the_static_manifests_are_valid():
    documents = list(yaml.safe_load_all((DEPLOY / "hub-rbac.yaml").read_text()))
    assert {d["kind"] for d in documents} == {"ClusterRole", "ClusterRoleBinding"}
    for document in documents:
        _validate(document)


def test_isolation_deny_all_then_only_the_labs_cables_dns_and_the_hub():
    lab = KubeLab("labkit-ann", hub_namespace="jhub")
    policies = {
        m["metadata"]["name"]: m["spec"] for m in lab_manifests(lab) if m["kind"] == "NetworkPolicy"
    }
    assert policies["deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    cables = policies["lab-cables"]
    peers = cables["ingress"][0]["from"]
    assert peers == [{"podSelector": {"matchLabels": {k8s.LAB_LABEL: "labkit-ann"}}}]
    assert "namespaceSelector" not in str(peers)  # never another learner's namespace
    hub = policies["hub-to-workstation"]
    assert hub["podSelector"] == {"matchLabels": {k8s.ROLE_LABEL: "workstation"}}
    assert hub["ingress"][0]["ports"] == [{"port": 8888, "protocol": "TCP"}]
    source = hub["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
    assert source == {"kubernetes.io/metadata.name": "jhub"}


def test_lab_pods_have_net_admin_and_nothing_more_and_share_one_node():
    lab = KubeLab("labkit-ann", pod_mtu=1450)
    for pod in (m for m in lab_manifests(lab) if m["kind"] == "Pod"):
        (container,) = pod["spec"]["containers"]
        context = container["securityContext"]
        assert context["capabilities"]["add"] == ["NET_ADMIN"]
        assert "privileged" not in context and context["allowPrivilegeEscalation"] is False
        term = pod["spec"]["affinity"]["podAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ][0]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert {"name": "LAB_LINK_MTU", "value": "1400"} in container["env"]
    router = next(
        m for m in lab_manifests(lab) if m["kind"] == "Pod" and m["metadata"]["name"] == "router"
    )
    assert router["spec"]["securityContext"]["sysctls"] == [
        {"name": "net.ipv4.ip_forward", "value": "1"}
    ]


def test_the_helm_values_wire_in_the_hooks_that_exist():
    values = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    assert values["hub"]["concurrentSpawnLimit"] > 0
    assert values["cull"]["enabled"] is True and values["prePuller"]["hook"]["enabled"]
    assert values["scheduling"]["userPlaceholder"]["enabled"] is True
    code = values["hub"]["extraConfig"]["labkit"]
    compile(code, "extraConfig", "exec")
    for name in re.findall(r"import (.+)", code)[0].split(","):
        assert hasattr(k8s, name.strip()), name
    settings = k8s.spawner_settings()
    assert settings["enable_user_namespaces"] is True and settings["cmd"] == [
        "jupyterhub-singleuser"
    ]
    images = {i["name"] for i in values["prePuller"]["extraImages"].values()}
    assert images == {f"labkit/{s}" for s in k8s.LAB_SERVICES}


def test_capacity_model_gives_the_docs_figures():
    c = capacity(
        node_cores=4,
        node_memory_mib=16384,
        seat_memory_mib=300,
        seat_busy_cores=0.1,
        node_price_per_hour=0.17,
    )
    assert (c.seats_by_memory, c.seats_by_cpu, c.seats) == (39, 28, 28)
    assert round(c.cost_per_learner_hour, 3) == 0.006
    doc = (Path(__file__).parents[2] / "docs" / "kubernetes.md").read_text()
    assert "**28**" in doc and "$0.006 per learner-hour" in doc
    assert "has not run on a Kubernetes cluster" in doc
