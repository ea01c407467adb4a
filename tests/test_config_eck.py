"""Config of ECK delivery: modes, the managed Elasticsearch resource, passthrough, kubernetes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.config_eck import check_node_certs_secret_size, eck_pod_nodes, eck_spec
from components.config_reader import Problems
from components.model import KeyAlgorithm
from components.model_eck import EckCertificates
from tests.test_config import delete_path, mutate, parse, problems_of, set_path

Raw = dict[str, Any]


def eck_stack(**eck: Any) -> Raw:
    base: Raw = {
        "name": "search", "namespace": "elastic", "version": "8.19.2",
        "nodeSets": [{"name": "default", "count": 3}],
    }
    merged = {key: value for key, value in {**base, **eck}.items() if value is not None}
    return {"clusters": [{"name": "search", "delivery": "eck", "eck": merged}]}


BASE = eck_stack()


def _with_volume(volume: Raw) -> Raw:
    return {"spec": {"volumes": [{"name": "plugins", "secret": {"secretName": "s3-creds"}},
                                 volume]}}


def _with_env(*variables: Raw, container: str = "elasticsearch") -> Raw:
    env = [{"name": "ES_JAVA_OPTS", "value": "-Xms2g -Xmx2g"}, *variables]
    template = {"spec": {"containers": [{"name": container, "env": env}]}}
    return mutate(set_path("clusters[0].eck.nodeSets[0].podTemplate", template), BASE)
SSL = "xpack.security.transport.ssl"
PROFILE = "transport.profiles.open.xpack.security.ssl"

# (id, invalid config, stack key the message names, pattern of the message)
BAD_CONFIGS: list[tuple[str, Raw, str, str]] = [
    ("bad mode", mutate(set_path("clusters[0].eck.certificates", "eck-issued"), BASE),
     "clusters[0].eck.certificates", "must be one of 'per-node', 'ca-to-eck', got 'eck-issued'"),
    ("missing version", mutate(delete_path("clusters[0].eck.version"), BASE),
     "clusters[0].eck.version", "is required with eck.manageElasticsearch: true"),
    ("bad version", mutate(set_path("clusters[0].eck.version", "latest"), BASE),
     "clusters[0].eck.version", "'latest' is not a version like 8.19.2"),
    ("manage not a bool", mutate(set_path("clusters[0].eck.manageElasticsearch", "yes"), BASE),
     "clusters[0].eck.manageElasticsearch", "must be true or false, got 'yes'"),
    ("version unmanaged", eck_stack(manageElasticsearch=False),
     "clusters[0].eck.version", "only used with eck.manageElasticsearch: true"),
    ("nodeSet config unmanaged", mutate(
        set_path("clusters[0].eck.nodeSets[0].config", {"node.roles": ["data"]}),
        eck_stack(manageElasticsearch=False, version=None)),
     "clusters[0].eck.nodeSets[0].config", "only used with eck.manageElasticsearch: true"),
    ("spec sets version", eck_stack(spec={"version": "8.1.0"}),
     "clusters[0].eck.spec.version", "is set from eck.version"),
    ("spec sets nodeSets", eck_stack(spec={"nodeSets": []}),
     "clusters[0].eck.spec.nodeSets", "is built from eck.nodeSets"),
    ("spec sets custom CA", eck_stack(
        spec={"transport": {"tls": {"certificate": {"secretName": "x"}}}}),
     "clusters[0].eck.spec.transport.tls.certificate", "is set from eck.certificates"),
    ("spec re-enables self-signed", eck_stack(
        spec={"transport": {"tls": {"selfSignedCertificates": {"disabled": False}}}}),
     "clusters[0].eck.spec.transport.tls.selfSignedCertificates",
     "is set from eck.certificates"),
    ("spec adds a trusted CA", eck_stack(
        spec={"transport": {"tls": {"certificateAuthorities": {"configMapName": "org-ca"}}}}),
     "clusters[0].eck.spec.transport.tls.certificateAuthorities", r"INV-CA-DEDICATED"),
    ("spec SANs", eck_stack(spec={"transport": {"tls": {"subjectAltNames": [{"dns": "a.b"}]}}}),
     "clusters[0].eck.spec.transport.tls.subjectAltNames", "eck.extraDns and eck.extraIps"),
    ("spec not a map", eck_stack(spec=["http"]), "clusters[0].eck.spec", "must be a map"),
    ("config weakens client auth", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{SSL}.client_authentication": "optional"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{SSL}.client_authentication"]',
     r"'optional' weakens mutual TLS \(INV-MTLS\)"),
    ("nested config weakens client auth", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config",
        {"xpack": {"security": {"transport": {"ssl": {"client_authentication": "none"}}}}}), BASE),
     "clusters[0].eck.nodeSets[0].config.xpack.security.transport.ssl.client_authentication",
     r"'none' weakens mutual TLS"),
    ("config sets client auth required", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{SSL}.client_authentication": "required"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{SSL}.client_authentication"]',
     "rendered from transport.clientAuthentication"),
    ("config sets ECK-owned enabled", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{SSL}.enabled": True}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{SSL}.enabled"]', "is owned by ECK"),
    ("config sets ECK-owned verification", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{SSL}.verification_mode": "none"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{SSL}.verification_mode"]', "is owned by ECK"),
    ("config sets our key", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{SSL}.key": "/tmp/k"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{SSL}.key"]', "is set by es-transport-pki"),
    ("config sets CA list", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{SSL}.certificate_authorities": ["x"]}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{SSL}.certificate_authorities"]',
     "is set by es-transport-pki"),
    ("config turns security off", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {"xpack.security.enabled": False}), BASE),
     'clusters[0].eck.nodeSets[0].config["xpack.security.enabled"]', r"\(INV-MTLS\)"),
    ("config turns security off with a string", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {"xpack": {"security": {"enabled": "false"}}}), BASE),
     "clusters[0].eck.nodeSets[0].config.xpack.security.enabled",
     r"turns off security and with it transport TLS \(INV-MTLS\); remove it"),
    ("profile weakens client auth", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.client_authentication": "none"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.client_authentication"]',
     r"'none' weakens mutual TLS on transport profile 'open' \(INV-MTLS\); remove it: profiles "
     r"inherit transport.clientAuthentication"),
    ("profile turns verification off", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {"transport": {"profiles": {"open": {
            "xpack": {"security": {"ssl": {"verification_mode": "none"}}}}}}}), BASE),
     "clusters[0].eck.nodeSets[0].config.transport.profiles.open.xpack.security.ssl"
     ".verification_mode",
     r"'none' turns off certificate verification on transport profile 'open'.*\(INV-VERIFY\)"),
    ("profile client auth misspelled", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.client_authentication": "requried"}),
        BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.client_authentication"]',
     r"'requried' is no client authentication mode Elasticsearch parses \(none, optional, "
     r"required: any case, nothing around it\), so nodes with transport profile 'open' do not "
     r"start; remove it: profiles inherit transport.clientAuthentication"),
    ("profile verification misspelled", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.verification_mode": "fulll"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.verification_mode"]',
     r"'fulll' is no verification mode Elasticsearch parses \(full, certificate, none: .*\), so "
     r"nodes with transport profile 'open' do not start; remove it .*or use 'full' or "
     r"'certificate'"),
    ("profile verification padded", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {"transport": {"profiles": {"open": {
            "xpack": {"security": {"ssl": {"verification_mode": " full"}}}}}}}), BASE),
     "clusters[0].eck.nodeSets[0].config.transport.profiles.open.xpack.security.ssl"
     ".verification_mode", r"' full' is no verification mode Elasticsearch parses"),
    ("profile verification a boolean", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.verification_mode": True}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.verification_mode"]',
     r"True is no verification mode Elasticsearch parses"),
    ("profile verification from the environment", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.verification_mode": "${MODE}"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.verification_mode"]',
     r"'\$\{MODE\}' is substituted by Elasticsearch at startup, so nothing here can show that "
     r"transport profile 'open' gets 'full' or 'certificate'; remove it"),
    ("profile client auth from the environment", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.client_authentication": "${AUTH}"}),
        BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.client_authentication"]',
     r"'\$\{AUTH\}' is substituted by Elasticsearch at startup, so nothing here can show that "
     r"transport profile 'open' gets 'required'; remove it: profiles inherit"),
    ("profile trusts another CA", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.certificate_authorities": ["o.crt"]}),
        BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.certificate_authorities"]',
     r"gives transport profile 'open' certificates or trust other than the cluster's dedicated "
     r"CA \(INV-CA-DEDICATED\); remove it"),
    ("profile presents another key", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config", {f"{PROFILE}.keystore.path": "other.p12"}), BASE),
     f'clusters[0].eck.nodeSets[0].config["{PROFILE}.keystore.path"]', r"\(INV-CA-DEDICATED\)"),
    ("default profile SSL setting", mutate(set_path(
        "clusters[0].eck.nodeSets[0].config",
        {"transport.profiles.default.xpack.security.ssl.supported_protocols": ["TLSv1.3"]}), BASE),
     'clusters[0].eck.nodeSets[0].config["transport.profiles.default.xpack.security.ssl.'
     'supported_protocols"]',
     "Elasticsearch refuses to start with SSL settings for the default transport profile"),
    ("podTemplate takes our volume", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate",
        {"spec": {"volumes": [{"name": "transport-pki-certs", "emptyDir": {}}]}}), BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.volumes[0].name", "rename it"),
    ("podTemplate takes our path", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate",
        {"spec": {"containers": [{"name": "elasticsearch", "volumeMounts": [
            {"name": "x", "mountPath": "/usr/share/elasticsearch/config/transport-pki/"}]}]}}),
        BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].volumeMounts[0]",
     "use another path"),
    # ECK's transport-certs mount holds `ca.crt`, the transport trust: a volume there replaced
    # or hid it; a path spelled otherwise, or nested, is the same place to the runtime.
    ("a volume over ECK's transport trust", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate",
        {"spec": {"volumes": [{"name": "org", "secret": {"secretName": "org-ca"}}],
                  "containers": [{"name": "elasticsearch", "volumeMounts": [{
                      "name": "org",
                      "mountPath": "/usr/share/elasticsearch/config/transport-certs"}]}]}}), BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].volumeMounts[0]",
     r"'/usr/share/elasticsearch/config/transport-certs' mounts over "
     r"/usr/share/elasticsearch/config/transport-certs: .*INV-CA-DEDICATED.*use another path"),
    *[(f"podTemplate mounts {name}", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate",
        {"spec": {"initContainers": [{"name": "setup", "volumeMounts": [
            {"name": "x", "mountPath": path}]}]}}), BASE),
       "clusters[0].eck.nodeSets[0].podTemplate.spec.initContainers[0].volumeMounts[0]",
       r"mounts over /usr/share/elasticsearch/config/transport-pki: ")
      for name, path in (
          ("our path spelled otherwise", "/usr/share/elasticsearch/config/./x/..//transport-pki"),
          ("a file in our path", "/usr/share/elasticsearch/config/transport-pki/ca.crt"),
          ("over the config directory", "/usr/share/elasticsearch/config"))],
    # The image takes settings from its environment too: these reached the Elasticsearch
    # resource unchecked (the policy pack's es-transport-mtls/-separate caught them).
    ("env weakens client auth", _with_env(
        {"name": f"{SSL}.client_authentication", "value": "optional"}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[1]",
     r"'optional' weakens mutual TLS \(INV-MTLS\)"),
    ("env turns security off", _with_env(
        {"name": "ES_SETTING_XPACK_SECURITY_ENABLED", "value": "false"}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[1]",
     r"turns off security and with it transport TLS \(INV-MTLS\)"),
    ("env profile verification none", _with_env(
        {"name": "ES_SETTING_TRANSPORT_PROFILES_OPEN_XPACK_SECURITY_SSL_VERIFICATION__MODE",
         "value": "none"}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[1]",
     r"'none' turns off certificate verification on transport profile 'open'.*\(INV-VERIFY\)"),
    ("env points HTTP at transport keys", _with_env(
        {"name": "xpack.security.http.ssl.key", "value": "transport-pki/${POD_NAME}.tls.key"}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[1]",
     r"points HTTP TLS at the transport certificates .*\(INV-SEPARATE\)"),
    ("env setting from valueFrom", _with_env(
        {"name": f"{SSL}.client_authentication",
         "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[1]",
     f"sets {SSL}.client_authentication from valueFrom, which config validation cannot read"),
    # Kubernetes expands `$(VAR)` in an env value from the entries before it.
    ("env turns security off through a variable", _with_env(
        {"name": "OFF", "value": "false"},
        {"name": "ES_SETTING_XPACK_SECURITY_ENABLED", "value": "$(OFF)"}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[2]",
     r"turns off security and with it transport TLS \(INV-MTLS\)"),
    ("env setting from a variable config validation cannot read", _with_env(
        {"name": "OFF", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "ES_SETTING_XPACK_SECURITY_ENABLED", "value": "$(OFF)"}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[2]",
     r"sets xpack.security.enabled from '\$\(OFF\)', whose \$\(VAR\) no env entry before it "
     r"gives as text, which config validation cannot read"),
    # The policy pack reported only the ca-to-eck advisory: the CA key on every node passed.
    ("podTemplate mounts the CA key", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate", _with_volume(
            {"name": "ca", "secret": {"secretName": "search-transport-pki-ca-key"}})),
        eck_stack(certificates="ca-to-eck")),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.volumes[1]",
     r"mounts Secret 'search-transport-pki-ca-key', a transport CA's key, into every pod: .*"
     r"\(INV-CUSTODY\); remove the volume"),
    ("podTemplate projects another cluster's node keys", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate", _with_volume(
            {"name": "k", "projected": {"sources": [
                {"configMap": {"name": "x"}}, {"secret": {"name": "logs-transport-pki-certs"}}]}})),
        BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.volumes[1]",
     r"mounts Secret 'logs-transport-pki-certs', every pod's transport key, a second time .*"
     r"INV-CA-DEDICATED"),
    # `bin/elasticsearch -E name=value` sets a setting over elasticsearch.yml; the image's
    # entrypoint hands its arguments on.
    ("args weaken client authentication", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate", {"spec": {"containers": [{
            "name": "elasticsearch", "env": [{"name": "MODE", "value": "optional"}],
            "args": ["eswrapper", f"-E{SSL}.client_authentication=$(MODE)"]}]}}), BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].args[1]",
     r"'optional' weakens mutual TLS \(INV-MTLS\)"),
    ("command turns security off", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate", {"spec": {"containers": [{
            "name": "elasticsearch",
            "command": ["bin/elasticsearch", "-E", "xpack.security.enabled=false"]}]}}), BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].command[1]",
     r"turns off security and with it transport TLS \(INV-MTLS\)"),
    ("args set a setting named by a variable", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate", {"spec": {"containers": [{
            "name": "elasticsearch", "args": ["eswrapper", "-E=$(NAME)=none"]}]}}), BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].args[1]",
     r"sets a setting from '\$\(NAME\)=none', whose \$\(VAR\) no env entry gives as text"),
    # Each pod's key and certificate files are named by ${POD_NAME}, which ECK sets.
    ("env replaces POD_NAME", _with_env({"name": "POD_NAME", "value": "search-es-default-0"}),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].env[1]",
     r"sets POD_NAME, which ECK sets to each pod's name: .*transport key and certificate files "
     r".*would be another pod's or none; remove it"),
    # A Secret's values in a container's environment reach the node as a volume would.
    ("a sidecar takes the CA key into its environment", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate", {"spec": {"containers": [
            {"name": "backup", "envFrom": [{"secretRef": {"name": "search-transport-pki-ca-key"}}]},
        ]}}), eck_stack(certificates="ca-to-eck")),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.containers[0].envFrom[0]",
     r"passes Secret 'search-transport-pki-ca-key', a transport CA's key, into every pod's "
     r"environment: .*\(INV-CUSTODY\); remove the entry"),
    ("an init container reads another cluster's node key", mutate(set_path(
        "clusters[0].eck.nodeSets[0].podTemplate", {"spec": {"initContainers": [
            {"name": "setup", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {
                "name": "logs-transport-pki-certs", "key": "logs-es-default-0.tls.key"}}}]},
        ]}}), BASE),
     "clusters[0].eck.nodeSets[0].podTemplate.spec.initContainers[0].env[0]",
     r"passes Secret 'logs-transport-pki-certs', every pod's transport key, a second time \(into "
     r"every pod's environment; .*"
     r"INV-CA-DEDICATED\); remove the variable"),
    ("secureSettings copy the CA key into every keystore", eck_stack(
        certificates="ca-to-eck",
        spec={"secureSettings": [{"secretName": "s3"},
                                 {"secretName": "search-transport-pki-ca-key"}]}),
     "clusters[0].eck.spec.secureSettings[1]",
     r"copies Secret 'search-transport-pki-ca-key', a transport CA's key, into every pod's "
     r"keystore: .*\(INV-CUSTODY\); remove the entry"),
    ("volumeClaimTemplates not a list", mutate(set_path(
        "clusters[0].eck.nodeSets[0].volumeClaimTemplates", {"name": "x"}), BASE),
     "clusters[0].eck.nodeSets[0].volumeClaimTemplates", "must be a list"),
    ("nodeSet typo", mutate(set_path("clusters[0].eck.nodeSets[0].podTemplates", {}), BASE),
     "clusters[0].eck.nodeSets[0].podTemplates", "did you mean 'podTemplate'"),
    ("pod name too long", eck_stack(name="e" * 36, nodeSets=[{"name": "n" * 23, "count": 3}]),
     "clusters[0].eck.nodeSets[0].name", "pod name 'e{36}-es-n{23}-2' is 65 characters, over 63"),
    ("Elasticsearch name too long", eck_stack(name="e" * 37),
     "clusters[0].eck.name", "'e{37}' is 37 characters, over the 36 ECK's webhook allows for an "
     "Elasticsearch name: shorten it to ≤ 36 characters"),
    ("nodeSet name too long", mutate(set_path("clusters[0].eck.nodeSets[0].name", "n" * 24), BASE),
     "clusters[0].eck.nodeSets[0].name", "'n{24}' is 24 characters, over the 23 the Elasticsearch "
     "CRD allows for a nodeSet name: shorten it to ≤ 23 characters"),
    ("no namespace anywhere", mutate(delete_path("clusters[0].eck.namespace"), BASE),
     "clusters[0].eck.namespace", "or set kubernetes.namespace"),
    ("IP address in extraDns", eck_stack(extraDns=["search.example.com", "10.1.2.3"]),
     "clusters[0].eck.extraDns[1]",
     r"'10.1.2.3' is an IP address; list it under clusters\[0\]\.eck\.extraIps"),
    ("IP address as clusterDomain", eck_stack(clusterDomain="10.1.2.3"),
     "clusters[0].eck.clusterDomain", r"'10.1.2.3' is an IP address; give a DNS name"),
    ("kubernetes typo", {**BASE, "kubernetes": {"kubeconfg": "/k"}},
     "kubernetes.kubeconfg", "did you mean 'kubeconfig'"),
    ("kubernetes bad namespace", {**BASE, "kubernetes": {"namespace": "Elastic"}},
     "kubernetes.namespace", "not a valid namespace"),
    ("ca-to-eck epoch re-keys nothing", mutate(
        set_path("clusters[0].rotationEpoch", 1), eck_stack(certificates="ca-to-eck")),
     "clusters[0].rotationEpoch", "ECK creates and keeps the pods' transport keys.*"
     "no generated HTTP certificate: it would re-key nothing.*eck.certificates: per-node"),
    ("ca-to-eck pod epoch", mutate(
        set_path("clusters[0].nodeRotationEpochs", {"search-es-default-0": 1}),
        eck_stack(certificates="ca-to-eck")),
     "clusters[0].nodeRotationEpochs", "no pod key here for Pulumi to replace"),
]


@pytest.mark.parametrize(("raw", "key", "pattern"), [c[1:] for c in BAD_CONFIGS],
                         ids=[c[0] for c in BAD_CONFIGS])
def test_invalid_eck_config_is_refused_with_key_and_fix(raw: Raw, key: str, pattern: str) -> None:
    problems = problems_of(raw)
    prefix = re.escape(f"es-transport-pki:{key}: ")
    assert any(re.match(prefix + ".*" + pattern, p) for p in problems), problems


def test_a_ca_to_eck_epoch_is_accepted_where_it_re_keys_the_generated_http_certificate() -> None:
    raw = mutate(set_path("clusters[0].rotationEpoch", 2), eck_stack(certificates="ca-to-eck"))
    raw["clusters"][0]["http"] = {"mode": "generated"}
    assert parse(raw).clusters[0].epochs.cluster == 2
    # Zero is the default: saying so is harmless.
    zero = mutate(set_path("clusters[0].rotationEpoch", 0), eck_stack(certificates="ca-to-eck"))
    assert parse(zero).clusters[0].epochs.cluster == 0


def test_a_profile_may_narrow_transport_tls() -> None:
    config = {
        "transport.profiles.open.port": 9400,
        f"{PROFILE}.client_authentication": "required",
        f"{PROFILE}.verification_mode": "Certificate",  # Elasticsearch lower-cases it
        f"{PROFILE}.supported_protocols": ["TLSv1.3"],
        "xpack.security.enabled": True,
    }
    raw = mutate(set_path("clusters[0].eck.nodeSets[0].config", config), BASE)
    assert parse(raw).clusters[0].eck.node_sets[0].passthrough["config"] == config


def test_pod_volumes_of_other_secrets_are_accepted() -> None:
    template = _with_volume({"name": "p", "projected": {"sources": [
        {"secret": {"name": "search-transport-pki-certs-backup-creds"}}, {"downwardAPI": {}}]}})
    raw = mutate(set_path("clusters[0].eck.nodeSets[0].podTemplate", template), BASE)
    assert parse(raw).clusters[0].eck.node_sets[0].passthrough["podTemplate"] == template


def test_command_line_settings_that_keep_transport_tls_are_accepted() -> None:
    container = {"name": "elasticsearch", "args": [
        "eswrapper", "-Enode.attr.zone=$(ZONE)", "-E", "xpack.security.enabled=true",
        f"-E={PROFILE}.client_authentication=required"]}
    template = {"spec": {"containers": [container]}}
    raw = mutate(set_path("clusters[0].eck.nodeSets[0].podTemplate", template), BASE)
    assert parse(raw).clusters[0].eck.node_sets[0].passthrough["podTemplate"] == template


def test_imported_variables_that_name_no_setting_are_accepted() -> None:
    template = {"spec": {"containers": [
        {"name": "elasticsearch", "envFrom": [{"secretRef": {"name": "s3"}, "prefix": "APP_"}]},
        # Elasticsearch runs in the `elasticsearch` container alone.
        {"name": "exporter", "envFrom": [{"configMapRef": {"name": "exporter"}}]}]}}
    raw = mutate(set_path("clusters[0].eck.nodeSets[0].podTemplate", template), BASE)
    assert parse(raw).clusters[0].eck.node_sets[0].passthrough["podTemplate"] == template


def test_pod_name_from_the_pods_own_name_is_accepted() -> None:
    ok = _with_env({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    assert parse(ok).clusters[0].eck.node_sets[0].passthrough["podTemplate"]


def test_mounts_beside_the_transport_directories_are_accepted() -> None:
    mounts = [{"name": "x", "mountPath": path} for path in (
        "/usr/share/elasticsearch/config/synonyms",
        "/usr/share/elasticsearch/config/transport-pki2", "/usr/share/elasticsearch/data",
        "/usr/share/elasticsearch/config/transport-certs-extra")]
    template = {"spec": {"containers": [{"name": "elasticsearch", "volumeMounts": mounts}]}}
    raw = mutate(set_path("clusters[0].eck.nodeSets[0].podTemplate", template), BASE)
    assert parse(raw).clusters[0].eck.node_sets[0].passthrough["podTemplate"] == template


def test_environment_and_secure_settings_from_other_secrets_are_accepted() -> None:
    template = {"spec": {
        "initContainers": [{"name": "setup", "envFrom": [{"secretRef": {"name": "s3-creds"}}]}],
        "containers": [{"name": "elasticsearch", "env": [{"name": "TOKEN", "valueFrom": {
            "secretKeyRef": {"name": "search-transport-pki-certs-backup", "key": "token"}}}]}],
    }}
    raw = mutate(set_path("clusters[0].eck.nodeSets[0].podTemplate", template),
                 eck_stack(spec={"secureSettings": [{"secretName": "s3-creds"}]}))
    eck = parse(raw).clusters[0].eck
    assert eck.node_sets[0].passthrough["podTemplate"] == template
    assert eck.spec["secureSettings"] == [{"secretName": "s3-creds"}]


def test_environment_settings_that_keep_transport_tls_are_accepted() -> None:
    ok = _with_env({"name": "node.roles", "value": "master,data"},
                   {"name": "ES_SETTING_XPACK_SECURITY_ENABLED", "value": "true"},
                   {"name": "xpack.security.http.ssl.key", "value": "http-certs/tls.key"},
                   {"name": "ON", "value": "true"},
                   {"name": "xpack.security.enabled", "value": "$(ON)"},
                   # `$$` is a `$`: Elasticsearch gets the text `$(OFF)`, not false.
                   {"name": "OFF", "value": "false"},
                   {"name": "ES_SETTING_XPACK_SECURITY_ENABLED", "value": "$$(OFF)"})
    assert parse(ok).clusters[0].eck.node_sets[0].passthrough["podTemplate"]["spec"]
    # Elasticsearch runs in the `elasticsearch` container alone: a sidecar's env is no setting.
    sidecar = _with_env({"name": f"{SSL}.client_authentication", "value": "none"},
                        container="log-shipper")
    assert parse(sidecar).clusters[0].eck.node_sets[0].passthrough["podTemplate"]


def test_names_at_the_eck_limits_are_accepted() -> None:
    assert parse(eck_stack(name="e" * 36)).clusters[0].eck.name == "e" * 36
    longest_set = eck_stack(nodeSets=[{"name": "n" * 23, "count": 3}])
    assert [s.name for s in parse(longest_set).clusters[0].eck.node_sets] == ["n" * 23]


def test_defaults_are_per_node_and_managed() -> None:
    eck = parse(BASE).clusters[0].eck
    assert eck.certificates is EckCertificates.PER_NODE
    assert eck.manage_elasticsearch is True and eck.version == "8.19.2"
    assert [n.name for n in parse(BASE).clusters[0].nodes] == [
        "search-es-default-0", "search-es-default-1", "search-es-default-2"]


def test_ca_to_eck_issues_no_node_certificates() -> None:
    cluster = parse(eck_stack(certificates="ca-to-eck")).clusters[0]
    assert cluster.eck.certificates is EckCertificates.CA_TO_ECK
    assert cluster.nodes == () and eck_pod_nodes(cluster.eck) == ()


def test_unmanaged_needs_no_version() -> None:
    eck = parse(eck_stack(manageElasticsearch=False, version=None)).clusters[0].eck
    assert eck.manage_elasticsearch is False and eck.version is None


def test_passthrough_is_kept_and_copied() -> None:
    raw = eck_stack(spec={"http": {"tls": {"selfSignedCertificate": {"disabled": True}}},
                          "transport": {"tls": {"otherNameSuffix": "node.example"}}})
    raw["clusters"][0]["eck"]["nodeSets"][0]["config"] = {"node.roles": ["master", "data"]}
    eck = parse(raw).clusters[0].eck
    raw["clusters"][0]["eck"]["nodeSets"][0]["config"]["node.roles"].append("ingest")
    assert eck.node_sets[0].passthrough == {"config": {"node.roles": ["master", "data"]}}
    assert eck.spec["transport"] == {"tls": {"otherNameSuffix": "node.example"}}


def test_kubernetes_namespace_is_the_default_namespace() -> None:
    raw = mutate(delete_path("clusters[0].eck.namespace"), BASE)
    raw["kubernetes"] = {"namespace": "search-prod", "context": "prod",
                         "renderYamlToDirectory": "out/manifests"}
    spec = parse(raw)
    assert spec.clusters[0].eck.namespace == "search-prod"
    assert (spec.kubernetes.context, spec.kubernetes.render_yaml_to_directory) == (
        "prod", "out/manifests")


def test_kubernetes_namespace_default_needs_wiring_into_eck_spec() -> None:
    """`eck_spec(default_namespace=...)` is what config.py passes from the kubernetes key."""
    problems = Problems()
    raw = {k: v for k, v in BASE["clusters"][0]["eck"].items() if k != "namespace"}
    eck = eck_spec(raw, "clusters[0].eck", problems, default_namespace="ns")
    assert not problems.items and eck is not None and eck.namespace == "ns"


def _eck_of(**eck: Any) -> Any:
    problems = Problems()
    spec = eck_spec(eck_stack(**eck)["clusters"][0]["eck"], "clusters[0].eck", problems)
    assert not problems.items and spec is not None
    return spec


@pytest.mark.parametrize(("algorithm", "pods", "fits"), [
    (KeyAlgorithm.ECDSA_P256, 600, True),
    (KeyAlgorithm.ECDSA_P256, 900, False),
    (KeyAlgorithm.RSA_4096, 150, True),
    (KeyAlgorithm.RSA_4096, 220, False),
])
def test_node_certs_secret_must_fit_kubernetes_limit(
    algorithm: KeyAlgorithm, pods: int, fits: bool
) -> None:
    problems = Problems()
    node_sets = [{"name": "data", "count": pods}]
    check_node_certs_secret_size(
        _eck_of(nodeSets=node_sets), algorithm, "clusters[0].eck", problems)
    messages = [f"{p.key}: {p.message}" for p in problems.items]
    assert messages == [] if fits else re.match(
        r"clusters\[0\]\.eck\.nodeSets: \d+ pods need about \d+ KiB .* over Kubernetes' 1024 KiB "
        "limit", messages[0]), messages
    # The smallest keys are the default: telling a P-256 cluster to use them is no advice.
    assert fits or (
        ("use keyAlgorithm ecdsa-p256" in messages[0]) is (algorithm != KeyAlgorithm.ECDSA_P256)
        and "eck.certificates: ca-to-eck" in messages[0])
    # ECK holds the pods' certificates in ca-to-eck mode: nothing to fit.
    check_node_certs_secret_size(
        _eck_of(nodeSets=node_sets, certificates="ca-to-eck"), algorithm, "clusters[0].eck",
        problems)
    assert len(problems.items) == (0 if fits else 1)
