"""Rendered Elasticsearch resources against ECK's v1 CRD schema, and the validators themselves.

The CRD's structural schema prunes unknown fields silently; an API server with strict field
validation (`kubectl apply --validate=strict`) rejects them. The validator here is strict the
same way, so a misspelt field is an error rather than a silent no-op.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
import yaml

from components import eck_manifests
from components.model import ClusterSpec
from tests.test_config import parse

REPO = Path(__file__).resolve().parent.parent
# CI clones the repository with shared/ as a sibling; so does this machine.
CRD = REPO.parent / "shared/schemas/eck/elasticsearch.k8s.elastic.co_elasticsearches.yaml"
COMBINATORS = ("allOf", "anyOf", "oneOf", "not")


def _strict(node: Any) -> Any:
    """Forbid fields a schema object does not declare, unless it preserves unknown fields."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    strict = {
        key: ({k: _strict(v) for k, v in value.items()} if key == "properties" else _strict(value))
        for key, value in node.items()
    }
    if (
        "properties" in node and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


@functools.cache
def _elasticsearch_validator() -> jsonschema.Draft7Validator:
    # The C loader when built: the CRD is 1.5 MB and the pure-Python parser takes seconds.
    crd = yaml.load(CRD.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    v1 = next(version for version in crd["spec"]["versions"] if version["name"] == "v1")
    # x-kubernetes-* keys are unknown keywords to jsonschema, i.e. annotations.
    return jsonschema.Draft7Validator(_strict(v1["schema"]["openAPIV3Schema"]))


def elasticsearch_errors(manifest: dict[str, Any]) -> list[str]:
    assert (manifest["apiVersion"], manifest["kind"]) == (
        "elasticsearch.k8s.elastic.co/v1", "Elasticsearch")
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _elasticsearch_validator().iter_errors(manifest)
    ]


def core_errors(manifest: dict[str, Any]) -> list[str]:
    """A core object (Secret, ConfigMap) against the Kubernetes schemas, strictly."""
    try:
        kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    return []


def eck_cluster_spec(**eck: Any) -> ClusterSpec:
    base: dict[str, Any] = {
        "name": "search", "namespace": "elastic", "version": "8.19.2",
        "nodeSets": [{"name": "default", "count": 3}],
    }
    merged = {key: value for key, value in {**base, **eck}.items() if value is not None}
    raw = {"clusters": [{"name": "search", "delivery": "eck", "eck": merged}]}
    cluster: ClusterSpec = parse(raw).clusters[0]
    return cluster


PASSTHROUGH_NODE_SETS = [
    {
        "name": "masters", "count": 3,
        "config": {"node.roles": ["master"], "xpack": {"ml": {"enabled": False}}},
        "podTemplate": {
            "metadata": {"labels": {"tier": "master"}},
            "spec": {
                "volumes": [{"name": "extra", "emptyDir": {}}],
                "containers": [{
                    "name": "elasticsearch",
                    "resources": {"limits": {"memory": "4Gi"}},
                    "volumeMounts": [{"name": "extra", "mountPath": "/extra"}],
                }],
            },
        },
        "volumeClaimTemplates": [{
            "metadata": {"name": "elasticsearch-data"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "10Gi"}}},
        }],
    },
    {"name": "data", "count": 2},
]
PASSTHROUGH_SPEC = {
    "http": {"tls": {"selfSignedCertificate": {"disabled": True}}},
    "transport": {"service": {"spec": {"type": "ClusterIP"}},
                  "tls": {"otherNameSuffix": "node.search.example"}},
}


@pytest.mark.parametrize("mode", ["per-node", "ca-to-eck"])
def test_rendered_elasticsearch_with_passthrough_validates(mode: str) -> None:
    cluster = eck_cluster_spec(
        certificates=mode, nodeSets=PASSTHROUGH_NODE_SETS, spec=PASSTHROUGH_SPEC,
        extraDns=["search.example.com"], extraIps=["10.0.0.9"],
    )
    manifest = eck_manifests.elasticsearch(cluster)
    assert elasticsearch_errors(manifest) == []
    spec = manifest["spec"]
    # Passthrough survives next to our wiring.
    assert spec["http"] == PASSTHROUGH_SPEC["http"]
    assert spec["transport"]["service"] == {"spec": {"type": "ClusterIP"}}
    assert spec["transport"]["tls"]["otherNameSuffix"] == "node.search.example"
    masters = spec["nodeSets"][0]
    assert masters["config"]["node.roles"] == ["master"]
    assert masters["volumeClaimTemplates"] == PASSTHROUGH_NODE_SETS[0]["volumeClaimTemplates"]
    assert masters["podTemplate"]["metadata"] == {"labels": {"tier": "master"}}
    container = masters["podTemplate"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"memory": "4Gi"}}
    if mode == "per-node":
        assert [m["mountPath"] for m in container["volumeMounts"]] == [
            "/extra", "/usr/share/elasticsearch/config/transport-pki"]
        assert spec["transport"]["tls"]["selfSignedCertificates"] == {"disabled": True}
    else:
        assert container["volumeMounts"] == [{"name": "extra", "mountPath": "/extra"}]
        assert spec["transport"]["tls"]["subjectAltNames"] == [
            {"dns": "search.example.com"}, {"ip": "10.0.0.9"}]


def test_validator_is_strict() -> None:
    """Negative controls: the checks above could not pass a broken resource."""
    good = eck_manifests.elasticsearch(eck_cluster_spec())
    typo = copy.deepcopy(good)
    typo["spec"]["transport"]["tls"]["selfSignedCertificate"] = {"disabled": True}
    assert any("selfSignedCertificate" in e for e in elasticsearch_errors(typo))
    no_version = copy.deepcopy(good)
    del no_version["spec"]["version"]
    assert any("'version' is a required property" in e for e in elasticsearch_errors(no_version))
    bad_mount = copy.deepcopy(good)
    bad_mount["spec"]["nodeSets"][0]["podTemplate"]["spec"]["containers"][0]["volumeMounts"][0][
        "readOnly"] = "yes"
    assert elasticsearch_errors(bad_mount)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
              "data": {"a": "b"}, "stringdata": {}}
    assert core_errors(secret)


def _merge(target: Any, patch: Any) -> Any:
    """Strategic-merge-like: maps merge, lists of named items merge by name, others append."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            merged[key] = _merge(target[key], value) if key in target else value
        return merged
    if isinstance(target, list) and isinstance(patch, list):
        named = {item.get("name"): item for item in target if isinstance(item, dict)}
        out = list(target)
        for item in patch:
            name = item.get("name") if isinstance(item, dict) else None
            if name is not None and name in named:
                out[out.index(named[name])] = _merge(named[name], item)
            else:
                out.append(item)
        return out
    return patch


def test_snippets_merged_into_a_foreign_resource_validate_and_wire_everything() -> None:
    """manageElasticsearch: false — the snippets, merged into a resource someone else wrote,
    give the same wiring as the resource this program renders itself."""
    unmanaged = eck_cluster_spec(manageElasticsearch=False, version=None)
    foreign: dict[str, Any] = {
        "apiVersion": "elasticsearch.k8s.elastic.co/v1", "kind": "Elasticsearch",
        "metadata": {"name": "search", "namespace": "elastic"},
        "spec": {"version": "8.19.2", "nodeSets": [{
            "name": "default", "count": 3, "config": {"node.store.allow_mmap": False},
            "podTemplate": {"spec": {"containers": [{"name": "elasticsearch", "env": [
                {"name": "ES_JAVA_OPTS", "value": "-Xms2g -Xmx2g"}]}]}},
        }]},
    }
    snippets = eck_manifests.spec_snippets(unmanaged)
    merged = copy.deepcopy(foreign)
    merged["spec"] = _merge(foreign["spec"], snippets)
    assert elasticsearch_errors(merged) == []
    ours = eck_manifests.elasticsearch(eck_cluster_spec())
    assert merged["spec"]["transport"] == ours["spec"]["transport"]
    node_set = merged["spec"]["nodeSets"][0]
    assert node_set["podTemplate"]["spec"]["volumes"] == (
        ours["spec"]["nodeSets"][0]["podTemplate"]["spec"]["volumes"])
    assert {k: v for k, v in node_set["config"].items() if k.startswith("xpack")} == (
        ours["spec"]["nodeSets"][0]["config"])
