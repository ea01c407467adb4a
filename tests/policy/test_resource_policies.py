"""Resource policies through Analyze: one failing and one passing fixture each, and unknowns."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from harness.analyzer import UNKNOWN, PolicyAnalyzer, Record, secret

from . import fixtures as f
from . import pems
from .verdicts import verdicts

T = f.TRANSPORT
P = "transport.profiles."
KEY = f.private_key("k")
REQ = f.csr("req", KEY)
CA = f.ca_cert("ca", KEY)
M, A = "mandatory", "advisory"


def leaf(**props: object) -> Record:
    return f.node_cert("leaf", REQ, CA, KEY, **props)


def es(config: object) -> Record:
    return f.elasticsearch("es", {"version": "9.1.0", "nodeSets": [{"name": "d", "count": 1,
                                                                  "config": config}]})


def es_env(*env: dict[str, object], container: str = "elasticsearch") -> Record:
    """ECK whose container `container` has environment `env` (the official image reads
    settings from it)."""
    return es_container({"name": container, "env": list(env)})


def es_container(container: dict[str, object]) -> Record:
    """ECK whose nodeSet's pod template has `container`."""
    return f.elasticsearch("es", {"version": "9.1.0", "nodeSets": [{
        "name": "d", "count": 1, "config": {},
        "podTemplate": {"spec": {"containers": [container]}}}]})


def stack_config_policy(config: object) -> Record:
    return f.record("kubernetes:stackconfigpolicy.k8s.elastic.co/v1alpha1:StackConfigPolicy",
                    "policy", {"metadata": {"name": "policy", "namespace": "elastic-system"},
                               "spec": {"resourceSelector": {"matchLabels": {"env": "prod"}},
                                        "elasticsearch": {"config": config}}})


def vm(settings: dict[str, object], **files: tuple[object, str]) -> Record:
    return f.bundle("b", {"elasticsearch.yml": (f.yml(settings), "0644"), **files})


def vm_stores(cas: object) -> Record:
    """A bundle whose stores (PKCS#12, built by its provider) trust `cas`, as the program's
    `pkcs12` format writes it."""
    settings = {T + "enabled": True, T + "keystore.path": "certs/transport.p12",
                T + "truststore.path": "certs/transport-truststore.p12"}
    record = vm(settings)
    return dataclasses.replace(record, properties={**record.properties, "stores": {
        "key": UNKNOWN, "certificate": UNKNOWN, "certificateAuthorities": cas}})


def p12_secret(store: bytes, *, keystore: bool = False) -> Record:
    """A Secret holding elasticsearch.yml and the PKCS#12 `store` it names as truststore (and
    as keystore too, else PEM key and certificate)."""
    identity = ({T + "keystore.path": "node.p12"} if keystore
                else {T + "key": "node.key", T + "certificate": "node.crt"})
    settings = {T + "enabled": True, T + "truststore.path": "node.p12", **identity}
    return f.secret("s", {"elasticsearch.yml": f.b64(f.yml(settings)),
                          "node.p12": base64.b64encode(store).decode()}, encode=False)


def workload(env: list[dict[str, object]], *, kind: str = "apps/v1:StatefulSet",
             name: str = "es", image: str = "docker.elastic.co/elasticsearch/elasticsearch:9.1.0",
             args: list[str] | None = None) -> Record:
    """A Kubernetes workload running Elasticsearch outside ECK (as Elastic's Helm chart
    renders it), its container taking `env` and `args`."""
    container: dict[str, object] = {"name": name, "image": image, "env": env}
    if args is not None:
        container["args"] = args
    pod = {"containers": [container]}
    spec = pod if kind == "core/v1:Pod" else {"template": {"spec": pod}}
    return f.record(f"kubernetes:{kind}", "w", {"metadata": {"name": "es"}, "spec": spec})


# Transport TLS on, a key and certificate, and no trust setting.
NO_TRUST = {k: v for k, v in f.good_vm_settings().items()
            if not k.endswith("certificate_authorities")}

CASES: dict[str, tuple[Record, set[tuple[str, str]]]] = {
    "leaf-good": (leaf(), set()),
    "leaf-no-eku": (leaf(allowedUses=["digital_signature"]), set()),
    "leaf-server-only": (leaf(allowedUses=["digital_signature", "server_auth"]),
                         {("es-transport-leaf-eku", A)}),
    "leaf-no-digital-signature": (leaf(allowedUses=["key_encipherment", "server_auth",
                                                    "client_auth"]),
                                  {("es-transport-leaf-usage", A)}),
    "leaf-unknown-uses": (leaf(allowedUses=UNKNOWN), set()),
    "ca-good": (CA, set()),
    "ca-no-cert-signing": (f.ca_cert("ca", KEY, allowedUses=["crl_signing"]),
                           {("es-transport-ca-shape", M)}),
    "ca-allows-intermediates": (f.ca_cert("ca", KEY, maxPathLength=2),
                                {("es-transport-ca-shape-advisory", A)}),
    "ca-path-length-zero-is-unlimited-anyway": (f.ca_cert("ca", KEY, maxPathLength=0), set()),
    "ca-unknown-is-ca": (f.ca_cert("ca", KEY, isCaCertificate=UNKNOWN, allowedUses=[]), set()),
    "key-p256": (KEY, set()),
    "key-p384": (f.private_key("k", ecdsaCurve="P384"), set()),
    "key-default-curve": (f.record(f.KEY, "k", {"algorithm": "ECDSA"}),
                          {("es-transport-key-strength", M)}),
    "key-p224": (f.private_key("k", ecdsaCurve="P224"), {("es-transport-key-strength", M)}),
    "key-unknown-curve": (f.private_key("k", ecdsaCurve=UNKNOWN), set()),
    "key-rsa-default-bits": (f.record(f.KEY, "k", {"algorithm": "RSA"}), set()),
    "key-rsa-1024": (f.record(f.KEY, "k", {"algorithm": "RSA", "rsaBits": 1024}),
                     {("es-transport-key-strength", M)}),
    "key-ed25519": (f.record(f.KEY, "k", {"algorithm": "ED25519"}),
                    {("es-transport-key-strength-advisory", A)}),
    # A request given as PEM: its key is outside the stack, judged by the request's.
    "leaf-request-p224": (leaf(certRequestPem=pems.P224_CSR), {("es-transport-key-strength", M)}),
    "leaf-request-rsa-1024": (leaf(certRequestPem=pems.RSA_1024_CSR),
                              {("es-transport-key-strength", M)}),
    "leaf-request-p256": (leaf(certRequestPem=pems.NODE_CSR), set()),
    "leaf-too-long": (leaf(validityPeriodHours=20000), {("es-transport-validity", M)}),
    "leaf-no-renewal-window": (leaf(earlyRenewalHours=0), {("es-transport-validity", M)}),
    "leaf-unknown-validity": (leaf(validityPeriodHours=UNKNOWN), set()),
    "ca-too-long": (f.ca_cert("ca", KEY, validityPeriodHours=100000),
                    {("es-transport-validity", M)}),
    "eck-good": (es({T + "client_authentication": "required"}), set()),
    "eck-optional-dotted": (es({T + "client_authentication": "optional"}),
                            {("es-transport-mtls", M)}),
    "eck-none-nested": (es({"xpack": {"security": {"transport": {"ssl": {
        "client_authentication": "none"}}}}}), {("es-transport-mtls", M)}),
    "eck-sets-enabled": (es({T + "enabled": True}), {("es-transport-mtls-advisory", A)}),
    "eck-sets-verification": (es({T + "verification_mode": "certificate"}),
                              {("es-transport-verify-advisory", A)}),
    "eck-verification-none": (es({T + "verification_mode": "none"}),
                              {("es-transport-verify", M), ("es-transport-verify-advisory", A)}),
    "eck-unknown-config": (es(UNKNOWN), set()),
    "eck-unknown-client-auth": (es({T + "client_authentication": UNKNOWN}), set()),
    # The official image takes a setting from an environment variable named like it, or
    # spelled ES_SETTING_ + upper case (`_` for `.`, `__` for `_`).
    "eck-env-client-auth-optional": (
        es_env({"name": T + "client_authentication", "value": "optional"}),
        {("es-transport-mtls", M)}),
    "eck-env-upper-verification-none": (
        es_env({"name": "ES_SETTING_XPACK_SECURITY_TRANSPORT_SSL_VERIFICATION__MODE",
                "value": "none"}),
        {("es-transport-verify", M), ("es-transport-verify-advisory", A)}),
    "eck-env-security-disabled": (es_env({"name": "xpack.security.enabled", "value": "false"}),
                                  {("es-transport-mtls", M)}),
    "eck-env-profile-client-auth-none": (
        es_env({"name": "ES_SETTING_TRANSPORT_PROFILES_CLIENT_XPACK_SECURITY_SSL_CLIENT__"
                        "AUTHENTICATION", "value": "none"}), {("es-transport-mtls", M)}),
    "eck-env-good": (es_env({"name": T + "client_authentication", "value": "required"},
                            {"name": "ES_JAVA_OPTS", "value": "-Xms2g -Xmx2g"},
                            {"name": "xpack.security.enabled", "value": "true"}), set()),
    "eck-env-from-secret": (es_env({"name": T + "client_authentication", "valueFrom": {
        "secretKeyRef": {"name": "es-env", "key": "client-auth"}}}), set()),
    "eck-env-unknown": (es_env({"name": T + "client_authentication", "value": UNKNOWN}), set()),
    # Elasticsearch reads `-E name=value` / `-Ename=value` from its command line: the
    # container's `args` (the image's entrypoint runs Elasticsearch for `eswrapper` or
    # `elasticsearch`), or a `command` running the binary.
    "eck-args-client-auth-optional": (
        es_container({"name": "elasticsearch",
                      "args": ["eswrapper", "-E", T + "client_authentication=optional"]}),
        {("es-transport-mtls", M)}),
    "eck-command-verification-none": (
        es_container({"name": "elasticsearch",
                      "command": ["/usr/share/elasticsearch/bin/elasticsearch"],
                      "args": ["-Expack.security.transport.ssl.verification_mode=none"]}),
        {("es-transport-verify", M), ("es-transport-verify-advisory", A)}),
    "eck-args-unknown-setting": (
        es_container({"name": "elasticsearch",
                      "args": ["elasticsearch", "-E", T + "certificate_authorites=ca.crt"]}),
        {("es-transport-settings", M)}),
    "eck-args-good": (
        es_container({"name": "elasticsearch", "args": [
            "eswrapper", "-E", T + "client_authentication=required", "-Enode.roles=data"]}),
        set()),
    "eck-args-not-elasticsearch": (
        es_container({"name": "elasticsearch", "command": ["sh", "-c"], "args": [
            "echo -E " + T + "client_authentication=optional"]}), set()),
    "eck-args-unknown": (
        es_container({"name": "elasticsearch", "args": ["eswrapper", "-E", UNKNOWN]}), set()),
    # Kubernetes expands `$(VAR)` in env values (from the variables before) and in command
    # and args (from the container's env) before Elasticsearch reads them; `$$` is `$`.
    "eck-args-var-client-auth-none": (
        es_container({"name": "elasticsearch", "env": [{"name": "MODE", "value": "none"}],
                      "args": ["eswrapper", "-E", T + "client_authentication=$(MODE)"]}),
        {("es-transport-mtls", M)}),
    "eck-args-var-client-auth-required": (
        es_container({"name": "elasticsearch", "env": [{"name": "MODE", "value": "required"}],
                      "args": ["eswrapper", "-E", T + "client_authentication=$(MODE)"]}),
        set()),
    "eck-args-var-escaped": (
        es_container({"name": "elasticsearch", "env": [{"name": "MODE", "value": "required"}],
                      "args": ["eswrapper", "-E", T + "client_authentication=$$(MODE)"]}),
        {("es-transport-settings", M)}),
    "eck-args-var-undefined": (
        es_container({"name": "elasticsearch",
                      "args": ["eswrapper", "-E", T + "client_authentication=$(POD_MODE)"]}),
        set()),
    "eck-args-var-from-value-from": (
        es_container({"name": "elasticsearch", "env": [{"name": "MODE", "valueFrom": {
            "configMapKeyRef": {"name": "es-env", "key": "mode"}}}],
            "args": ["eswrapper", "-E", T + "client_authentication=$(MODE)"]}), set()),
    "eck-env-var-verification-none": (
        es_env({"name": "MODE", "value": "none"},
               {"name": T + "verification_mode", "value": "$(MODE)"}),
        {("es-transport-verify", M), ("es-transport-verify-advisory", A)}),
    "eck-env-var-verification-full": (
        es_env({"name": "MODE", "value": "full"},
               {"name": T + "verification_mode", "value": "$(MODE)"}),
        {("es-transport-verify-advisory", A)}),
    "eck-env-var-defined-after": (
        es_env({"name": T + "verification_mode", "value": "$(MODE)"},
               {"name": "MODE", "value": "none"}), set()),
    # A shell's `-c` script is read when it is a plain command line (shlex, POSIX).
    "eck-sh-script-client-auth-optional": (
        es_container({"name": "elasticsearch", "command": ["sh", "-c"], "args": [
            "exec /usr/share/elasticsearch/bin/elasticsearch -E "
            + T + "client_authentication=optional"]}), {("es-transport-mtls", M)}),
    "eck-sh-script-client-auth-required": (
        es_container({"name": "elasticsearch", "command": ["sh", "-c"], "args": [
            "exec /usr/share/elasticsearch/bin/elasticsearch -E "
            + T + "client_authentication=required"]}), set()),
    "eck-bash-script-verification-none": (
        es_container({"name": "elasticsearch", "command": ["/bin/bash", "-ec"], "args": [
            "sysctl -w vm.max_map_count=262144 || true\n"
            "ulimit -n 65536 && exec eswrapper '-E" + T + "verification_mode=none'"]}),
        {("es-transport-verify", M), ("es-transport-verify-advisory", A)}),
    "eck-bash-script-unknown-setting": (
        es_container({"name": "elasticsearch", "args": [
            "bash", "-o", "pipefail", "-c",
            "elasticsearch -E " + T + "certificate_authorites=ca.crt"]}),
        {("es-transport-settings", M)}),
    "eck-sh-script-var-client-auth-none": (
        es_container({"name": "elasticsearch", "env": [{"name": "MODE", "value": "none"}],
                      "command": ["sh", "-c", "exec elasticsearch -E "
                                  + T + "client_authentication=$(MODE)"]}),
        {("es-transport-mtls", M)}),
    # Not read: what the shell may turn into other words (variables, pipes, comments, ...).
    "eck-sh-script-shell-variable": (
        es_container({"name": "elasticsearch", "env": [{"name": "MODE", "value": "none"}],
                      "command": ["sh", "-c", "exec elasticsearch -E "
                                  + T + "client_authentication=$MODE"]}), set()),
    "eck-sh-script-pipe": (
        es_container({"name": "elasticsearch", "command": ["sh", "-c", "elasticsearch -E "
                      + T + "client_authentication=optional | tee /tmp/log"]}), set()),
    "eck-sh-script-comment": (
        es_container({"name": "elasticsearch", "command": ["sh", "-c", "# elasticsearch -E "
                      + T + "client_authentication=optional\nexec eswrapper"]}), set()),
    "eck-sh-script-quoted-separator": (
        es_container({"name": "elasticsearch", "command": ["sh", "-c", "echo ';' elasticsearch -E "
                      + T + "client_authentication=optional"]}), set()),
    "eck-sidecar-args": (
        es_container({"name": "log-shipper", "command": ["elasticsearch"],
                      "args": ["-E", T + "client_authentication=optional"]}), set()),
    "eck-sidecar-env": (es_env({"name": T + "client_authentication", "value": "optional"},
                               container="log-shipper"), set()),
    # ECK's StackConfigPolicy puts `spec.elasticsearch.config` into the elasticsearch.yml of
    # every cluster it selects.
    "stack-config-policy-client-auth-optional": (stack_config_policy({
        T + "client_authentication": "optional"}), {("es-transport-mtls", M)}),
    "stack-config-policy-verification-none": (stack_config_policy({"xpack": {"security": {
        "transport": {"ssl": {"verification_mode": "none"}}}}}),
        {("es-transport-verify", M), ("es-transport-verify-advisory", A)}),
    "stack-config-policy-good": (stack_config_policy({
        T + "client_authentication": "required", "logger.org.elasticsearch": "info"}), set()),
    "stack-config-policy-unknown": (stack_config_policy(UNKNOWN), set()),
    "vm-good": (vm(f.good_vm_settings()), set()),
    "vm-not-enabled": (vm(f.good_vm_settings(**{T + "enabled": "false"})),
                       {("es-transport-mtls", M)}),
    "vm-enabled-missing": (vm({T + "verification_mode": "full"}), {("es-transport-mtls", M)}),
    "vm-verification-none": (vm(f.good_vm_settings(**{T + "verification_mode": "none"})),
                             {("es-transport-verify", M)}),
    "vm-profile-good": (vm(f.good_vm_settings(**{
        P + "client.port": "9500-9600",
        P + "client.xpack.security.ssl.client_authentication": "required",
        P + "client.xpack.security.ssl.verification_mode": "full"})), set()),
    "vm-default-profile-without-ssl": (vm(f.good_vm_settings(**{P + "default.port": "9300"})),
                                       set()),
    # A known elasticsearch.yml text holds no unknown (the engine sends a text that depends on
    # one as unknown as a whole): a value known only at startup is a `${VAR}` Elasticsearch
    # substitutes, which can never be shown to be required.
    "vm-profile-client-auth-from-env": (vm(f.good_vm_settings(**{
        P + "client.xpack.security.ssl.client_authentication": "${CLIENT_AUTH}"})),
        {("es-transport-mtls", M)}),
    "eck-profile-unknown-client-auth": (es({
        P + "client.xpack.security.ssl.client_authentication": UNKNOWN}), set()),
    "eck-profile-sets-verification": (es({"transport": {"profiles": {"client": {
        "port": "9500-9600", "xpack.security.ssl.verification_mode": "certificate",
        "xpack.security.ssl.client_authentication": "required"}}}}), set()),
    "vm-security-enabled": (vm(f.good_vm_settings(**{"xpack.security.enabled": True})), set()),
    "eck-security-unknown": (es({"xpack.security.enabled": UNKNOWN}), set()),
    "vm-unknown-yml": (f.bundle("b", {"elasticsearch.yml": (UNKNOWN, "0644")}), set()),
    "secret-yml-client-auth-none": (
        f.secret("s", {"elasticsearch.yml": f.yml(f.good_vm_settings(
            **{T + "client_authentication": "none"}))}), {("es-transport-mtls", M)}),
    "secret-value-wrapped-as-secret": (
        f.secret("s", {"elasticsearch.yml": secret(f.b64(f.yml(f.good_vm_settings(
            **{T + "client_authentication": "optional"}))))}, encode=False),
        {("es-transport-mtls", M)}),
    "configmap-yml-good": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings())}), set()),
    "configmap-with-key": (f.config_map("c", {"tls.key": pems.NODE_KEY}),
                           {("es-transport-key-custody", M)}),
    # A ConfigMapPatch (server-side apply) writes its data into the ConfigMap it names.
    "configmap-patch-with-key": (dataclasses.replace(
        f.config_map("c", {"tls.key": pems.NODE_KEY}), type=f.CONFIG_MAP + "Patch"),
        {("es-transport-key-custody", M)}),
    "configmap-patch-with-certificate": (dataclasses.replace(
        f.config_map("c", {"ca.crt": pems.PRIVATE_CA}), type=f.CONFIG_MAP + "Patch"), set()),
    "configmap-patch-yml-client-auth-optional": (dataclasses.replace(
        f.config_map("c", {"elasticsearch.yml": f.yml(f.good_vm_settings(
            **{T + "client_authentication": "optional"}))}), type=f.CONFIG_MAP + "Patch"),
        {("es-transport-mtls", M)}),
    "secret-with-key": (f.secret("s", {"tls.key": pems.NODE_KEY}), set()),
    "vm-key-0600": (vm(f.good_vm_settings(), **{"certs/node.key": (pems.NODE_KEY, "0600")}),
                    set()),
    "vm-key-0644": (vm(f.good_vm_settings(), **{"certs/node.key": (pems.NODE_KEY, "0644")}),
                    {("es-transport-key-custody", M)}),
    "vm-key-unknown-0600": (vm(f.good_vm_settings(), **{"certs/node.key": (UNKNOWN, "0600")}),
                            set()),
    "vm-unnamed-unknown-0644": (vm(f.good_vm_settings(),
                                   **{"certs/node.crt": (UNKNOWN, "0644")}), set()),
    "vm-keystore-unknown-0400": (vm({T + "enabled": True,
                                     T + "keystore.path": "certs/transport.p12",
                                     T + "truststore.path": "certs/transport.p12"},
                                    **{"certs/transport.p12": (UNKNOWN, "0400")}), set()),
    "vm-key-unknown-mode": (vm(f.good_vm_settings(), **{"certs/node.key": (UNKNOWN, UNKNOWN)}),
                            set()),
    "provided-ca-good": (leaf(caCertPem=pems.PRIVATE_CA), set()),
    "provided-ca-public-root": (leaf(caCertPem=pems.public_root()),
                                {("es-transport-trusted-ca", M)}),
    # INV-STRENGTH holds for a provided CA's key as for a generated one.
    # A public CA's intermediate trusts every certificate that CA issues, as its root does.
    "provided-ca-public-intermediate": (leaf(caCertPem=pems.public_intermediate()),
                                        {("es-transport-trusted-ca", M)}),
    "vm-trusts-public-intermediate": (vm(f.good_vm_settings(), **{
        "certs/ca.crt": (pems.public_intermediate(), "0644")}), {("es-transport-trusted-ca", M)}),
    "provided-ca-rsa-1024": (leaf(caCertPem=pems.RSA_1024_CA), {("es-transport-trusted-ca", M)}),
    "provided-ca-p224": (leaf(caCertPem=pems.P224_CA), {("es-transport-trusted-ca", M)}),
    "provided-ca-rsa-2048": (leaf(caCertPem=pems.RSA_2048_CA), set()),
    "vm-trusts-p224-ca": (vm(f.good_vm_settings(), **{"certs/ca.crt": (pems.P224_CA, "0644")}),
                          {("es-transport-trusted-ca", M)}),
    # A provided CA's key is its certificate's (in any PEM form).
    "provided-ca-other-key": (leaf(caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.OTHER_KEY),
                              {("es-transport-trusted-ca", M)}),
    "provided-ca-own-key": (leaf(caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY),
                            set()),
    "provided-ca-own-key-sec1": (leaf(caCertPem=pems.PRIVATE_CA,
                                      caPrivateKeyPem=pems.PRIVATE_CA_KEY_TRADITIONAL), set()),
    "provided-ca-expired": (leaf(caCertPem=pems.EXPIRED_CA), {("es-transport-trusted-ca", M)}),
    "provided-ca-not-a-ca": (leaf(caCertPem=pems.NOT_A_CA), {("es-transport-trusted-ca", M)}),
    "vm-trusts-public-root": (vm(f.good_vm_settings(),
                                 **{"certs/ca.crt": (pems.public_root(), "0644")}),
                              {("es-transport-trusted-ca", M)}),
    # A ConfigMap (or Secret) holding elasticsearch.yml and the CA file it names, mounted
    # together into the config directory (a StatefulSet without ECK).
    "configmap-yml-trusts-public-root": (f.config_map("c", {
        "elasticsearch.yml": f.yml(f.good_vm_settings(**{T + "certificate_authorities": "ca.crt"})),
        "ca.crt": pems.public_root()}), {("es-transport-trusted-ca", M)}),
    "secret-yml-trusts-p224-ca": (f.secret("s", {
        "elasticsearch.yml": f.yml(f.good_vm_settings(**{T + "certificate_authorities": "ca.crt"})),
        "ca.crt": pems.P224_CA}), {("es-transport-trusted-ca", M)}),
    # Elasticsearch reads a CA file in binary DER too (the JDK's CertificateFactory): Secret
    # `data` and ConfigMap `binaryData` carry its bytes.
    "secret-yml-trusts-der-public-root": (f.secret("s", {
        "elasticsearch.yml": f.b64(f.yml(f.good_vm_settings(**{
            T + "certificate_authorities": "ca.der"}))),
        "ca.der": base64.b64encode(pems.der(pems.public_root())).decode()}, encode=False),
        {("es-transport-trusted-ca", M)}),
    "secret-yml-trusts-der-private-ca": (f.secret("s", {
        "elasticsearch.yml": f.b64(f.yml(f.good_vm_settings(**{
            T + "certificate_authorities": "ca.der"}))),
        "ca.der": base64.b64encode(pems.der(pems.PRIVATE_CA)).decode()}, encode=False), set()),
    "configmap-yml-trusts-pkcs7-p224-ca": (f.record(f.CONFIG_MAP, "c", {
        "metadata": {"name": "c", "namespace": "search"},
        "data": {"elasticsearch.yml": f.yml(f.good_vm_settings(**{
            T + "certificate_authorities": "ca.p7b"}))},
        "binaryData": {"ca.p7b": base64.b64encode(pems.pkcs7_der(pems.P224_CA)).decode()}}),
        {("es-transport-trusted-ca", M)}),
    "configmap-yml-trusts-pkcs7-private-ca": (f.record(f.CONFIG_MAP, "c", {
        "metadata": {"name": "c", "namespace": "search"},
        "data": {"elasticsearch.yml": f.yml(f.good_vm_settings(**{
            T + "certificate_authorities": "ca.p7b"}))},
        "binaryData": {"ca.p7b": base64.b64encode(pems.pkcs7_der(pems.PRIVATE_CA)).decode()}}),
        set()),
    "configmap-yml-trusts-private-ca": (f.config_map("c", {
        "elasticsearch.yml": f.yml(f.good_vm_settings(**{T + "certificate_authorities": "ca.crt"})),
        "ca.crt": pems.PRIVATE_CA}), set()),
    "vm-trusts-private-ca": (vm(f.good_vm_settings(),
                                **{"certs/ca.crt": (pems.PRIVATE_CA, "0644")}), set()),
    # A named transport profile's own trust list is transport trust too (its own port).
    "vm-profile-trusts-public-root": (
        vm(f.good_vm_settings(**{
            P + "client.port": "9500",
            P + "client.xpack.security.ssl.certificate_authorities": ["certs/public.crt"]}),
           **{"certs/ca.crt": (pems.PRIVATE_CA, "0644"),
              "certs/public.crt": (pems.public_root(), "0644")}),
        {("es-transport-trusted-ca", M)}),
    # A text for certificate_authorities is a comma list (Settings.getAsList splits it and
    # trims each part): every file it names is trusted.
    "vm-trusts-public-root-in-comma-text": (
        vm(f.good_vm_settings(**{T + "certificate_authorities": "certs/ca.crt, certs/public.crt"}),
           **{"certs/ca.crt": (pems.PRIVATE_CA, "0644"),
              "certs/public.crt": (pems.public_root(), "0644")}),
        {("es-transport-trusted-ca", M)}),
    "vm-trusts-private-cas-in-comma-text": (
        vm(f.good_vm_settings(**{T + "certificate_authorities": "certs/ca.crt,certs/old.crt"}),
           **{"certs/ca.crt": (pems.PRIVATE_CA, "0644"),
              "certs/old.crt": (pems.RSA_2048_CA, "0644")}),
        set()),
    # No certificate_authorities nor truststore.path (unset, empty text or empty list):
    # Elasticsearch trusts the JDK's cacerts, every public root (DefaultJdkTrustConfig).
    "vm-trusts-jdk-default-cas": (vm(NO_TRUST), {("es-transport-trusted-ca", M)}),
    "vm-trusts-jdk-default-cas-empty-list": (
        vm({**NO_TRUST, T + "certificate_authorities": []}), {("es-transport-trusted-ca", M)}),
    "vm-trusts-jdk-default-cas-empty-text": (
        vm({**NO_TRUST, T + "certificate_authorities": " , "}), {("es-transport-trusted-ca", M)}),
    "vm-trusts-jdk-default-cas-certificate-mode": (
        vm({**NO_TRUST, T + "verification_mode": "certificate"}),
        {("es-transport-trusted-ca", M)}),
    "configmap-yml-trusts-jdk-default-cas": (f.config_map("c", {"elasticsearch.yml": f.yml(
        NO_TRUST)}), {("es-transport-trusted-ca", M)}),
    "vm-keystore-trusts-jdk-default-cas": (
        vm({T + "enabled": True, T + "keystore.path": "certs/transport.p12"},
           **{"certs/transport.p12": (UNKNOWN, "0600")}), {("es-transport-trusted-ca", M)}),
    "vm-truststore-only": (vm({**NO_TRUST, T + "truststore.path": "certs/trust.p12"}), set()),
    "vm-verification-none-is-verifys": (vm({**NO_TRUST, T + "verification_mode": "none"}),
                                        {("es-transport-verify", M)}),
    # The program's PKCS#12 stores are built by the bundle's provider from `stores`: the
    # truststore trusts `stores.certificateAuthorities`.
    "vm-store-trusts-public-root": (vm_stores(pems.public_root()),
                                    {("es-transport-trusted-ca", M)}),
    "vm-store-trusts-private-ca": (vm_stores(pems.PRIVATE_CA), set()),
    "vm-store-cas-unknown": (vm_stores(UNKNOWN), set()),
    # A PKCS#12 truststore (truststore.path) in Secret data, opened without a password.
    "secret-yml-truststore-public-root": (p12_secret(pems.truststore(pems.public_root())),
                                          {("es-transport-trusted-ca", M)}),
    "secret-yml-truststore-private-ca": (p12_secret(pems.truststore(pems.PRIVATE_CA)), set()),
    # Elastic's guide: elastic-certificates.p12 as keystore and truststore (the node's own
    # certificate with its key is not judged as a CA).
    "secret-yml-keystore-as-truststore": (p12_secret(
        pems.keystore(pems.LEAF_KEY, pems.LEAF, pems.PRIVATE_CA), keystore=True), set()),
    "secret-yml-keystore-as-truststore-public-root": (p12_secret(
        pems.keystore(pems.LEAF_KEY, pems.LEAF, pems.public_root()), keystore=True),
        {("es-transport-trusted-ca", M)}),
    # A store with a password (in the elasticsearch-keystore) is not read.
    "secret-yml-truststore-with-password": (p12_secret(pems.keystore(
        pems.LEAF_KEY, pems.LEAF, pems.public_root(), password=b"changeit"), keystore=True),
        set()),
    # A node's PKCS#12 keystore (its key) in a ConfigMap's binaryData; a truststore is fine.
    "configmap-binary-keystore": (f.record(f.CONFIG_MAP, "c", {
        "metadata": {"name": "c", "namespace": "search"},
        "binaryData": {"node.p12": base64.b64encode(
            pems.keystore(pems.LEAF_KEY, pems.LEAF, pems.PRIVATE_CA)).decode()}}),
        {("es-transport-key-custody", M)}),
    "configmap-binary-truststore": (f.record(f.CONFIG_MAP, "c", {
        "metadata": {"name": "c", "namespace": "search"},
        "binaryData": {"trust.p12": base64.b64encode(
            pems.truststore(pems.PRIVATE_CA)).decode()}}), set()),
    # A workload running Elasticsearch outside ECK: its env and command line are settings
    # too (partial: its elasticsearch.yml sets the rest, `enabled` included).
    "statefulset-env-client-auth-none": (workload([{
        "name": T + "client_authentication", "value": "none"}]), {("es-transport-mtls", M)}),
    "statefulset-env-upper-verification-none": (workload([{
        "name": "ES_SETTING_XPACK_SECURITY_TRANSPORT_SSL_VERIFICATION__MODE", "value": "none"}],
        name="es-node"), {("es-transport-verify", M)}),
    "pod-args-tls-off": (workload([], kind="core/v1:Pod", name="node", args=[
        "elasticsearch", "-E", T + "enabled=false"]), {("es-transport-mtls", M)}),
    "deployment-env-security-off": (workload([{"name": "xpack.security.enabled",
                                               "value": "false"}], kind="apps/v1:Deployment"),
                                    {("es-transport-mtls", M)}),
    "statefulset-env-compliant": (workload([
        {"name": T + "client_authentication", "value": "required"},
        {"name": "node.name", "value": "es-0"}]), set()),
    "statefulset-sidecar-env-ignored": (workload([{
        "name": T + "client_authentication", "value": "none"}], name="exporter",
        image="quay.io/prometheuscommunity/elasticsearch-exporter:v1.7.0"), set()),
    "vm-profile-trusts-private-ca": (
        vm(f.good_vm_settings(**{
            P + "client.xpack.security.ssl.certificate_authorities": ["certs/ca.crt"]}),
           **{"certs/ca.crt": (pems.PRIVATE_CA, "0644")}), set()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_resource_policy(analyzer: PolicyAnalyzer, case: str) -> None:
    record, expected = CASES[case]
    diagnostics = analyzer.analyze(record)
    assert verdicts(diagnostics) == expected, [d.message for d in diagnostics]
    assert all(d.urn == record.urn for d in diagnostics)


@pytest.mark.parametrize(("parent_chain", "expected"), [
    ("es-transport-pki:http_pki:HttpPki$es-transport-pki:node_certificate:NodeCertificate$",
     set()),
    ("es-transport-pki:transport_pki:TransportPki$", {("es-transport-leaf-eku", A)}),
    ("my-org:web:HttpPki$", {("es-transport-leaf-eku", A)}),
], ids=["the program's HTTP layer", "the transport layer", "another program's component"])
def test_a_server_only_leaf_is_advised_unless_the_programs_http_layer_made_it(
    analyzer: PolicyAnalyzer, parent_chain: str, expected: set[tuple[str, str]]
) -> None:
    record = leaf(allowedUses=["digital_signature", "server_auth"])
    inside = dataclasses.replace(record, urn=record.urn.replace(
        "::tls:index", f"::{parent_chain}tls:index"))
    assert verdicts(analyzer.analyze(inside)) == expected


# (record, the one policy and level expected, what its message must name)
NAMED_FINDINGS: dict[str, tuple[Record, str, str, tuple[str, ...]]] = {
    "vm-profile-client-auth-none": (
        vm(f.good_vm_settings(**{P + "client.port": "9500-9600",
                                 P + "client.xpack.security.ssl.client_authentication": "none"})),
        "es-transport-mtls", M,
        ("[INV-MTLS]", "transport.profiles.client.xpack.security.ssl.client_authentication is "
         "'none'", "transport profile 'client'")),
    "eck-profile-client-auth-optional-nested": (
        es({"transport": {"profiles": {"client": {"xpack": {"security": {"ssl": {
            "client_authentication": "optional"}}}}}}}),
        "es-transport-mtls", M,
        ("transport.profiles.client.xpack.security.ssl.client_authentication is 'optional'",
         "transport profile 'client'")),
    "vm-profile-verification-none": (
        vm(f.good_vm_settings(**{P + "client.xpack.security.ssl.verification_mode": "none"})),
        "es-transport-verify", M,
        ("[INV-VERIFY]", "transport.profiles.client.xpack.security.ssl.verification_mode is "
         "'none'", "transport profile 'client'")),
    "eck-profile-verification-none": (
        es({P + "client.xpack.security.ssl.verification_mode": "none"}),
        "es-transport-verify", M,
        ("transport.profiles.client.xpack.security.ssl.verification_mode is 'none'",)),
    "vm-profile-client-auth-from-env": (
        vm(f.good_vm_settings(**{
            P + "client.xpack.security.ssl.client_authentication": "${CLIENT_AUTH}"})),
        "es-transport-mtls", M,
        ("[INV-MTLS]", "client_authentication is '${CLIENT_AUTH}' (transport profile 'client'",
         "which Elasticsearch substitutes at startup, so it cannot be shown to be required")),
    "vm-verification-from-env": (
        vm(f.good_vm_settings(**{T + "verification_mode": "${MODE}"})),
        "es-transport-verify", M,
        ("[INV-VERIFY]", "verification_mode is '${MODE}', which cannot be read here "
         "(Elasticsearch substitutes a ${VAR} at startup",
         "so it cannot be shown to be one of ['full', 'certificate']")),
    "vm-default-profile-ssl": (
        vm(f.good_vm_settings(**{
            P + "default.xpack.security.ssl.client_authentication": "required"})),
        "es-transport-mtls", M,
        ("[INV-MTLS]", "transport.profiles.default.xpack.security.ssl.client_authentication",
         "refuses to start", "through xpack.security.transport.ssl.client_authentication")),
    "eck-default-profile-ssl": (
        es({"transport": {"profiles": {"default": {
            "xpack.security.ssl.verification_mode": "none"}}}}),
        "es-transport-mtls", M,
        ("transport.profiles.default.xpack.security.ssl.verification_mode", "refuses to start",
         "through xpack.security.transport.ssl.verification_mode")),
    "vm-key-unknown-0644": (
        vm(f.good_vm_settings(), **{"certs/node.key": (UNKNOWN, "0644")}),
        "es-transport-key-custody", M,
        ("[INV-CUSTODY]", "key file files[certs/node.key] has mode 0644",
         "named by xpack.security.transport.ssl.key", '"0600"')),
    "vm-keystore-unknown-0640-absolute-path": (
        vm({T + "enabled": True, T + "keystore.path": "/etc/elasticsearch/certs/transport.p12",
            T + "truststore.path": "/etc/elasticsearch/certs/transport.p12"},
           **{"certs/transport.p12": (UNKNOWN, "0640")}),
        "es-transport-key-custody", M,
        ("key file files[certs/transport.p12] has mode 0640",
         "named by xpack.security.transport.ssl.keystore.path")),
    "vm-http-key-unknown-0644": (
        vm(f.good_vm_settings(**{"xpack.security.http.ssl.key": "certs/http.key"}),
           **{"certs/http.key": (UNKNOWN, "0644")}),
        "es-transport-key-custody", M, ("named by xpack.security.http.ssl.key",)),
    "vm-security-disabled": (
        vm(f.good_vm_settings(**{"xpack.security.enabled": False})),
        "es-transport-mtls", M,
        ("[INV-MTLS]", "xpack.security.enabled is False", "plaintext",
         "remove xpack.security.enabled")),
    "configmap-yml-security-disabled-string": (
        f.config_map("c", {"elasticsearch.yml": "xpack.security.enabled: 'false'\n"
                           + f.yml(f.good_vm_settings())}),
        "es-transport-mtls", M, ("xpack.security.enabled is 'false'",)),
    "eck-args-plain-password": (
        es_container({"name": "elasticsearch",
                      "args": ["eswrapper", "-E" + T + "keystore.password=changeme"]}),
        "es-transport-settings", M,
        ("spec.nodeSets[0].podTemplate.spec.containers[0].args: " + T + "keystore.password",
         "remove it from the container's args")),
    "eck-security-disabled-nested": (
        es({"xpack": {"security": {"enabled": "false"}}}),
        "es-transport-mtls", M, ("spec.nodeSets[0].config: xpack.security.enabled is 'false'",)),
    "vm-trusts-jdk-default-cas": (
        vm(NO_TRUST), "es-transport-trusted-ca", M,
        ("[INV-CA-DEDICATED]", "neither xpack.security.transport.ssl.certificate_authorities "
         "nor xpack.security.transport.ssl.truststore.path is set", "DefaultJdkTrustConfig")),
}


@pytest.mark.parametrize("case", sorted(NAMED_FINDINGS))
def test_finding_names_the_setting(analyzer: PolicyAnalyzer, case: str) -> None:
    record, policy, level, named = NAMED_FINDINGS[case]
    diagnostics = analyzer.analyze(record)
    assert [(d.policy_name, d.enforcement_level) for d in diagnostics] == [(policy, level)], [
        d.message for d in diagnostics]
    for text in named:
        assert text in diagnostics[0].message


def test_message_says_what_why_and_how(analyzer: PolicyAnalyzer) -> None:
    (diagnostic,) = analyzer.analyze(leaf(caCertPem=pems.public_root()))
    assert "[INV-CA-DEDICATED]" in diagnostic.message
    assert "public root" in diagnostic.message
    assert "\nWhy: " in diagnostic.message and "\nFix: " in diagnostic.message


def test_unknown_inputs_never_yield_mandatory_violations(analyzer: PolicyAnalyzer) -> None:
    everything_unknown = [
        f.record(t, "u", {k: UNKNOWN for k in keys})
        for t, keys in [
            (f.KEY, ["algorithm", "ecdsaCurve", "rsaBits"]),
            (f.SELF_SIGNED, ["isCaCertificate", "allowedUses", "validityPeriodHours",
                             "earlyRenewalHours", "maxPathLength"]),
            (f.LOCALLY_SIGNED, ["caCertPem", "allowedUses", "isCaCertificate"]),
            (f.SECRET, ["metadata", "data", "stringData"]),
            (f.CONFIG_MAP, ["metadata", "data"]),
            (f.ELASTICSEARCH, ["metadata", "spec"]),
            (f.BUNDLE, ["files", "directory"]),
        ]
    ]
    for record in everything_unknown:
        assert analyzer.analyze(record) == [], record.type
