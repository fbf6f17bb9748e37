"""Each learner's lab on Kubernetes, for Zero to JupyterHub's KubeSpawner (on paper).

Nothing here has run on a cluster (see docs/kubernetes.md); every manifest it makes is
validated against the Kubernetes OpenAPI schemas in tests/unit/test_kubernetes.py.

With ``enable_user_namespaces``, KubeSpawner starts each learner's Jupyter server (the
lab's workstation image, running ``jupyterhub-singleuser``) in a namespace of its own.
:func:`pre_spawn_hook` adds the rest of that learner's lab to the namespace before the
server starts: the ``dns``, ``mx`` and ``router`` pods, a headless Service per pod (the
lab's VXLAN "cables" find their peers by these names, as they use fixed addresses under
Compose), a volume for the lab's shared files, and NetworkPolicies that deny everything
but the lab's own traffic and the hub's proxy reaching the workstation's port 8888.
:func:`post_stop_hook` deletes them again; the learner's home volume (KubeSpawner's
``storage_*`` settings) stays.

Every pod of one lab runs on one node (pod affinity): the path's timings stay like a
laptop's, and the shared volume can be ReadWriteOnce, which every storage class offers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labkit.errors import UsageError

__all__ = [
    "LAB_SERVICES",
    "KubeLab",
    "capacity",
    "lab_manifests",
    "namespace_for",
    "post_stop_hook",
    "pre_spawn_hook",
    "spawner_settings",
]

#: The lab's services besides the workstation (which is the learner's Jupyter pod).
LAB_SERVICES = ("dns", "mx", "router")
#: VXLAN adds 50 bytes (outer IP, UDP, VXLAN headers) to every frame on the cables.
VXLAN_OVERHEAD = 50
LAB_LABEL = "labkit.org/lab"
ROLE_LABEL = "labkit.org/role"


def namespace_for(username: str, prefix: str = "labkit-") -> str:
    """A DNS-1123 namespace name for a learner (KubeSpawner's escaping differs: pass
    this as ``user_namespace_template`` only through :func:`spawner_settings`)."""
    safe = re.sub(r"[^a-z0-9-]", "-", username.lower()).strip("-")
    if not safe:
        raise UsageError(f"The user name {username!r} has no letters or digits to use.")
    return (prefix + safe)[:63].rstrip("-")


@dataclass(frozen=True)
class KubeLab:
    """One learner's lab on a cluster."""

    namespace: str
    image_tag: str = "dev"
    registry: str = ""  # e.g. "registry.example:5000/" (empty: the nodes have the images)
    pod_mtu: int = 1450  # the cluster network's MTU (e.g. 1450 on a VXLAN CNI)
    storage_class: str | None = None
    hub_namespace: str = "jhub"

    @property
    def lab_mtu(self) -> int:
        """The lab links' MTU: the pod network's, less VXLAN's overhead."""
        return self.pod_mtu - VXLAN_OVERHEAD

    def image(self, service: str) -> str:
        return f"{self.registry}labkit/{service}:{self.image_tag}"


def _labels(lab: KubeLab, role: str) -> dict[str, str]:
    return {LAB_LABEL: lab.namespace, ROLE_LABEL: role}


def _meta(lab: KubeLab, name: str, role: str) -> dict[str, Any]:
    return {"name": name, "namespace": lab.namespace, "labels": _labels(lab, role)}


def _same_node(lab_name: str) -> dict[str, Any]:
    """A pod affinity term: on the node of the pods of lab ``lab_name``."""
    return {
        "labelSelector": {"matchLabels": {LAB_LABEL: lab_name}},
        "topologyKey": "kubernetes.io/hostname",
    }


def _peers(service: str) -> str:
    """Who a service shares cables with (lab-links reads LAB_CABLE_PEERS by name)."""
    return {
        "dns": "router,mx",
        "mx": "router,dns",
        "router": "mx,dns,workstation",
    }[service]


def _pod(lab: KubeLab, service: str) -> dict[str, Any]:
    env = [
        {"name": "LAB_NET_PREFIX", "value": "10.125.25"},  # inside the lab's own links
        {"name": "LAB_CABLE_PEERS", "value": _peers(service)},
        {"name": "LAB_LINK_MTU", "value": str(lab.lab_mtu)},
    ]
    if service == "mx":
        env.append({"name": "LAB_DNS_IP", "value": "10.125.25.53"})
    container: dict[str, Any] = {
        "name": service,
        "image": lab.image(service),
        "env": env,
        # NET_ADMIN only to set up the VXLAN links and routes (and the router's
        # nftables); no privileged mode, no other capability.
        "securityContext": {
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["NET_RAW"]},
            "allowPrivilegeEscalation": False,
        },
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "volumeMounts": [{"name": "shared", "mountPath": "/lab/shared"}],
        "readinessProbe": {
            "exec": {"command": ["lab-health"]},
            "periodSeconds": 30,
            "timeoutSeconds": 10,
        },
    }
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(lab, service, service),
        "spec": {
            "hostname": {"mx": "metagross", "dns": "ns1"}.get(service, service),
            "containers": [container],
            "volumes": [{"name": "shared", "persistentVolumeClaim": {"claimName": "lab-shared"}}],
            "restartPolicy": "Always",
            "enableServiceLinks": False,
            "automountServiceAccountToken": False,
            # Every pod of this lab on one node (the first one placed picks it).
            "affinity": {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [_same_node(lab.namespace)]
                }
            },
        },
    }
    if service == "router":
        pod["spec"]["securityContext"] = {
            "sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}]
        }
    return pod


def _service(lab: KubeLab, service: str) -> dict[str, Any]:
    """A headless Service: a DNS name for the pod, whatever address it gets."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(lab, service, service),
        "spec": {
            "clusterIP": "None",
            "selector": {ROLE_LABEL: service, LAB_LABEL: lab.namespace},
            "ports": [{"name": "vxlan", "port": 4789, "protocol": "UDP"}],
            "publishNotReadyAddresses": True,
        },
    }


def _policies(lab: KubeLab) -> Iterator[dict[str, Any]]:
    base = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"}
    # Deny everything in and out of the lab's namespace...
    yield base | {
        "metadata": _meta(lab, "deny-all", "policy"),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    # ...but the lab's own cables (VXLAN between its pods)...
    lab_pods = {"podSelector": {"matchLabels": {LAB_LABEL: lab.namespace}}}
    yield base | {
        "metadata": _meta(lab, "lab-cables", "policy"),
        "spec": {
            "podSelector": {"matchLabels": {LAB_LABEL: lab.namespace}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [lab_pods], "ports": [{"port": 4789, "protocol": "UDP"}]}],
            "egress": [{"to": [lab_pods], "ports": [{"port": 4789, "protocol": "UDP"}]}],
        },
    }
    # ...the cluster's DNS, only to find the cables' peers by name at start...
    yield base | {
        "metadata": _meta(lab, "cluster-dns", "policy"),
        "spec": {
            "podSelector": {"matchLabels": {LAB_LABEL: lab.namespace}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                }
            ],
        },
    }
    # ...and the hub (its proxy and the hub itself) reaching the learner's Jupyter server.
    yield base | {
        "metadata": _meta(lab, "hub-to-workstation", "policy"),
        "spec": {
            "podSelector": {"matchLabels": {ROLE_LABEL: "workstation"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": lab.hub_namespace}
                            },
                            "podSelector": {
                                "matchExpressions": [
                                    {
                                        "key": "component",
                                        "operator": "In",
                                        "values": ["hub", "proxy"],
                                    }
                                ]
                            },
                        }
                    ],
                    "ports": [{"port": 8888, "protocol": "TCP"}],
                }
            ],
        },
    }


def lab_manifests(lab: KubeLab) -> list[dict[str, Any]]:
    """Everything :func:`pre_spawn_hook` creates in the learner's namespace, in order."""
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(lab, "lab-shared", "storage"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],  # one node: every lab pod is there
            "resources": {"requests": {"storage": "64Mi"}},
        },
    }
    if lab.storage_class:
        claim["spec"]["storageClassName"] = lab.storage_class
    manifests: list[dict[str, Any]] = [claim, *_policies(lab)]
    for service in LAB_SERVICES:
        manifests += [_service(lab, service), _pod(lab, service)]
    manifests.append(_service(lab, "workstation"))
    return manifests


def spawner_settings(lab_image_tag: str = "dev", registry: str = "") -> dict[str, Any]:
    """KubeSpawner's settings for labkit (what deploy/kubernetes/values.yaml sets)."""
    return {
        "enable_user_namespaces": True,
        "user_namespace_template": "labkit-{username}",
        "image": f"{registry}labkit/workstation:{lab_image_tag}",
        "cmd": ["jupyterhub-singleuser"],
        "extra_labels": {ROLE_LABEL: "workstation", LAB_LABEL: "labkit-{username}"},
        # NET_ADMIN for its links and for switching networks (`sudo lab-net`); NET_RAW
        # stays: the learner's traceroute and ping need it.
        "container_security_context": {"capabilities": {"add": ["NET_ADMIN"]}},
        # On the node of the learner's lab (the lab's pods follow it there).
        "pod_affinity_required": [_same_node("labkit-{username}")],
    }


# --------------------------------------------------------------------------- hooks

_KINDS = {
    "Pod": ("CoreV1Api", "namespaced_pod"),
    "Service": ("CoreV1Api", "namespaced_service"),
    "PersistentVolumeClaim": ("CoreV1Api", "namespaced_persistent_volume_claim"),
    "NetworkPolicy": ("NetworkingV1Api", "namespaced_network_policy"),
}


def _lab_for(spawner: Any) -> KubeLab:
    return KubeLab(
        namespace=spawner.namespace,
        image_tag=getattr(spawner, "labkit_image_tag", "dev"),
        hub_namespace=getattr(spawner, "labkit_hub_namespace", "jhub"),
    )


def pre_spawn_hook(spawner: Any) -> None:  # pragma: no cover - needs a cluster
    """Create the learner's dns, mx and router before their workstation starts."""
    from kubernetes import client, config  # type: ignore[import-not-found,unused-ignore]

    config.load_incluster_config()
    for manifest in lab_manifests(_lab_for(spawner)):
        api_name, kind = _KINDS[manifest["kind"]]
        api = getattr(client, api_name)()
        try:
            getattr(api, f"create_{kind}")(manifest["metadata"]["namespace"], manifest)
        except client.ApiException as exc:
            if exc.status != 409:  # already there from an earlier start: keep it
                raise


def post_stop_hook(spawner: Any) -> None:  # pragma: no cover - needs a cluster
    """Remove the learner's lab pods; their notebooks (the home volume) stay."""
    from kubernetes import client, config  # type: ignore[import-not-found,unused-ignore]

    config.load_incluster_config()
    for manifest in reversed(lab_manifests(_lab_for(spawner))):
        if manifest["kind"] == "PersistentVolumeClaim":
            continue
        api_name, kind = _KINDS[manifest["kind"]]
        api = getattr(client, api_name)()
        try:
            getattr(api, f"delete_{kind}")(manifest["metadata"]["name"], spawner.namespace)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


# --------------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class Capacity:
    seats_by_memory: int
    seats_by_cpu: int
    seats: int
    cost_per_learner_hour: float


def capacity(
    *,
    node_cores: float,
    node_memory_mib: float,
    seat_memory_mib: float,
    seat_busy_cores: float,
    node_price_per_hour: float,
    reserved_memory_mib: float = 1536,
    reserved_cores: float = 0.5,
    headroom: float = 0.8,
) -> Capacity:
    """Seats one node holds: memory and CPU after the system's share, used to
    ``headroom`` so a room working at once does not saturate it; and what a learner-hour
    costs when every seat is used."""
    memory = (node_memory_mib - reserved_memory_mib) * headroom
    cores = (node_cores - reserved_cores) * headroom
    by_memory = int(memory // seat_memory_mib)
    by_cpu = int(cores // seat_busy_cores)
    seats = max(min(by_memory, by_cpu), 0)
    cost = node_price_per_hour / seats if seats else float("inf")
    return Capacity(by_memory, by_cpu, seats, cost)
