"""The lifecycle fuzz (tests/test_lifecycle_fuzz.py) with the ECK cluster in `eck.certificates:
ca-to-eck` mode: the program hands the cluster's CA (`ca.crt` + `ca.key` Secret) to ECK, and ECK
issues the pods' certificates. ECK is emulated (harness/eck_operator.py: it reads the Secret as
ECK does, refusing what ECK refuses, and issues and renews pod certificates as its transport
reconciler does), so real OpenSSL handshakes prove that the pods keep talking.

The same stack (the VM cluster `logs` beside the ECK cluster `search`) goes through edits drawn
at random, aimed at the ECK cluster: the documented next CA rotation step or one back, any CA
state near the current one (illegal jumps among them, refused naming the key), switching
between `per-node` and `ca-to-eck`, scaling, `eck.extraDns` (`subjectAltNames`), adding or
removing its HTTP certificate, `rotationEpoch` (re-keys the HTTP certificate only) and pod
epochs (refused under ca-to-eck), the key algorithm (for CA generations created later),
`protectCa`, decommissioning and re-adding the cluster; or time passes (the CA enters its
renew-before window: `up` warns), the same config is re-run, or the config is invalid. After
each `up`, besides everything the base machine checks (CA generations never replaced and
protected as configured, inventory, warnings, custody, preview = up, re-run = no change, a
refused step changes nothing, handshakes of every before/after mix):

1. the CA Secret holds exactly `ca.crt` + `ca.key` of the generation the rotation state says
   issues, and ECK accepts it; the ConfigMap holds exactly the trusted generations, in order;
   the Elasticsearch resource names both, carries `subjectAltNames` as configured, and
   validates against ECK's CRD (../shared/schemas/eck); Pulumi issues no pod certificate;
2. no CA key but the issuing generation's reaches Kubernetes, and that one only in the CA
   Secret; the HTTP CA key never;
3. ECK re-issues the pods' certificates exactly when the CA it holds or the SANs change, or the
   mode switches (same key unless the CA's key type changes): a renewal, a re-run or any other
   step leaves the pods alone.

Few derandomized random walks take a rotation all the way (a `rotation_step` rule weights it),
so a scripted walk through the same machine always does: two rotations, the second to a CA of
another key type, with illegal jumps, the CA-expiry warning and a mode switch on the way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from components import eck_layout
from harness import eck_operator, tls_emulator
from harness.handshake import PemIdentity
from harness.mock_runtime import Recording, reveal
from tests.stack_runs import PRIVATE_KEY
from tests.test_eck_delivery import manifest
from tests.test_eck_schemas import elasticsearch_errors
from tests.test_lifecycle_fuzz import (
    ALGORITHMS,
    BOTH_EKUS,
    ECK,
    ECK_NAME,
    NAMES,
    NAMESPACE,
    STATEFULSET,
    STEPS,
    VM,
    Ca,
    Config,
    Draw,
    Expected,
    Held,
    Lifecycle,
    Snapshot,
    any_ca_state,
    base64_forms,
    change_algorithm,
    change_ca_organization,
    dns_of,
    edit_rules,
    fingerprint,
    held,
    lower_epochs,
    next_rotation_step,
    plain_strings,
    rekey_cluster,
    rekey_node,
    roll_back,
    scale_eck,
    secret_files,
    snapshot_eck_http,
    toggle_eck_cluster,
    toggle_extra_dns,
    toggle_protection,
    write_files,
)

MODES = ("per-node", "ca-to-eck")
CA_SECRET, TRUST = f"{ECK}-eck-ca-secret", f"{ECK}-eck-trust"
ES = f"{ECK}-eck-elasticsearch"


class CaToEckConfig(Config):
    def targets(self) -> list[str]:
        """Edits of one cluster go to the ECK cluster while it is configured."""
        return [ECK] if self.eck else [VM]


def toggle_eck_certificates(config: Config, draw: Draw) -> None:
    """`eck.certificates` per-node ↔ ca-to-eck (the config accepts either way)."""
    config.eck_certificates = MODES[1 - MODES.index(config.eck_certificates)]


def toggle_eck_http(config: Config, draw: Draw) -> None:
    """`http.mode` generated ↔ none on the ECK cluster (refused while its HTTP CA is
    protected; under ca-to-eck, a raised `rotationEpoch` without HTTP is refused)."""
    config.eck_http = not config.eck_http


EDITS = {edit.__name__: edit for edit in (
    next_rotation_step, roll_back, any_ca_state, toggle_eck_certificates, scale_eck,
    toggle_extra_dns, toggle_eck_http, rekey_cluster, rekey_node, lower_epochs,
    change_algorithm, change_ca_organization, toggle_protection, toggle_eck_cluster,
)}


def pod_ip(pod: str) -> str:
    return f"10.1.0.{int(pod.rsplit('-', 1)[1]) + 1}"


def is_rsa(public_key_der: bytes) -> bool:
    return isinstance(serialization.load_der_public_key(public_key_der), rsa.RSAPublicKey)


class CaToEckLifecycle(Lifecycle):
    def __init__(self) -> None:
        super().__init__()
        # What ECK keeps in the pods' transport-certs Secrets (it survives `up`s).
        self.eck_pods: dict[str, eck_operator.PodMaterial] = {}
        self.validated: set[str] = set()  # Elasticsearch resources the CRD accepted

    def up(self, config: Config, *, preview: bool = False) -> Recording:
        if not config.eck:
            self.eck_pods = {}  # the Elasticsearch resource and ECK's Secrets are gone
        return super().up(config, preview=preview)

    def initial_config(self) -> Config:
        return CaToEckConfig({n: dns_of(n) for n in NAMES[:2]}, vm_http=False,
                             eck_certificates="ca-to-eck")

    # -- the refusals docs/rotation.md and the README list for ca-to-eck ---------------------

    def legal(self, config: Config) -> list[str]:
        """The config's own problems (all the ECK cluster's) and the base machine's refusals
        of the clusters they leave untouched: the program judges a cluster with a problem of
        its own only for that problem, the others against the last deployment as well."""
        refused = []
        spec = config.clusters[ECK]
        if config.ca_to_eck and spec.node_epochs:
            refused.append("clusters[1].nodeRotationEpochs")
        if config.ca_to_eck and spec.epoch and not config.eck_http:
            refused.append("clusters[1].rotationEpoch")
        deployment = super().legal(config)
        if not refused:
            return deployment
        return [*refused, *(key for key in deployment if not key.startswith("clusters[1]"))]

    # -- ECK issues the pods' certificates ----------------------------------------------------

    def deliver_eck(self, run: Recording, config: Config, snapshot: Path) -> Snapshot:
        if not config.ca_to_eck:
            # With selfSignedCertificates.disabled ECK removes its pod keys and certificates.
            self.eck_pods = {}
            return super().deliver_eck(run, config, snapshot)
        spec = reveal(run.named(ES).inputs["spec"])
        sans = spec["transport"]["tls"].get("subjectAltNames", [])
        es = eck_operator.Elasticsearch(
            ECK_NAME, NAMESPACE, tuple(s["dns"] for s in sans if "dns" in s),
            tuple(s["ip"] for s in sans if "ip" in s))
        pods = [eck_operator.Pod(p, STATEFULSET, pod_ip(p)) for p in config.nodes(ECK)]
        self.eck_pods = eck_operator.reconcile(
            es, pods, ca_secret=secret_files(run, CA_SECRET),
            config_map_pem=reveal(run.named(TRUST).inputs["data"])["ca.crt"].encode(),
            current=self.eck_pods, now=self.clock)
        transport: dict[str, Held] = {}
        for pod in pods:
            directory = snapshot / ECK / pod.name
            write_files(directory, self.eck_pods[pod.name].files())
            identity = PemIdentity(directory / "tls.crt", directory / "tls.key",
                                   directory / "ca.crt")
            transport[pod.name] = held(identity, eck_operator.common_name(pod, es))
        return transport, snapshot_eck_http(run, snapshot)

    def expected(self, before: Config, after: Config, cluster: str) -> Expected:
        changes = super().expected(before, after, cluster)
        if cluster == ECK and before.ca_to_eck and not after.ca_to_eck:
            pods = set(after.nodes(ECK))  # Pulumi takes the pods over from ECK
            return Expected(pods, pods, changes.http_reissue, changes.http_rekey)
        if cluster != ECK or not after.ca_to_eck:
            return changes
        # No pod key is Pulumi's: what ECK re-issues is checked in check_pods.
        return Expected(set(), set(), changes.http_reissue, changes.http_rekey)

    # -- the checks after each `up` ----------------------------------------------------------

    def check_cluster(
        self, run: Recording, config: Config, cluster: str, after: Mapping[str, Held],
        changes: Expected,
    ) -> None:
        if cluster == ECK:
            self.check_elasticsearch(run, config)
        if cluster != ECK or not config.ca_to_eck:
            super().check_cluster(run, config, cluster, after, changes)
            return
        trusted, issuing = config.clusters[ECK].ca.trust()
        cas = self.check_cas(run, config, ECK)
        assert not [r for r in run if r.name.startswith(f"{ECK}-{STATEFULSET}")], (
            "Pulumi issued pod certificates under ca-to-eck")
        assert not [r for r in run if r.name == f"{ECK}-eck-node-certs"]

        data = secret_files(run, CA_SECRET)  # a secret as a whole
        assert sorted(data) == [eck_layout.CA_CERT_KEY, eck_layout.CA_KEY_KEY]
        (ca,) = x509.load_pem_x509_certificates(data[eck_layout.CA_CERT_KEY])
        assert fingerprint(ca) == fingerprint(cas[issuing]), "ECK holds another generation"
        key = eck_operator.parse_private_key(data[eck_layout.CA_KEY_KEY])
        assert tls_emulator.public_key_der(key.public_key()) == tls_emulator.public_key_der(
            ca.public_key())
        bundle = reveal(run.named(TRUST).inputs["data"])
        assert sorted(bundle) == [eck_layout.CA_CERT_KEY]
        assert [fingerprint(c) for c in x509.load_pem_x509_certificates(
            bundle[eck_layout.CA_CERT_KEY].encode())] == [fingerprint(cas[g]) for g in trusted]
        for name, registration in ((eck_layout.ca_secret(ECK_NAME), run.named(CA_SECRET)),
                                   (eck_layout.trust_config_map(ECK_NAME), run.named(TRUST))):
            metadata = reveal(registration.inputs["metadata"])
            assert (metadata["name"], metadata["namespace"]) == (name, NAMESPACE)

        self.check_inventory(run, config, ECK, cas, {})  # ECK's pods are not Pulumi's
        self.check_pods(config, cas, after)

    def check_pods(
        self, config: Config, cas: Mapping[int, x509.Certificate], after: Mapping[str, Held]
    ) -> None:
        """What ECK made of the CA it holds: each pod's certificate from the issuing
        generation, trusted CAs exactly the trusted generations; re-issued exactly when the
        issuer, the SANs or the mode changed, re-keyed when the mode or the CA's key type did."""
        trusted, issuing = config.clusters[ECK].ca.trust()
        assert sorted(after) == sorted(config.nodes(ECK))
        for pod, material in after.items():
            material.cert.verify_directly_issued_by(cas[issuing])
            assert {fingerprint(c) for c in material.trust} == {
                fingerprint(cas[g]) for g in trusted}, (pod, trusted)
            eku = material.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert set(eku) == BOTH_EKUS
        deployed = self.deployed
        before = self.held[ECK]
        if deployed is None or not deployed.ca_to_eck:
            everyone = set(after)  # a new cluster, or ECK takes over from per-node
            self.check_replaced(ECK, before, after, reissue=everyone, rekey=everyone,
                                renew_before_days=1)
            return
        moved = deployed.clusters[ECK].ca.trust()[1] != issuing
        reissue = set(after) if moved or deployed.extra_dns != config.extra_dns else set()
        new_type = isinstance(cas[issuing].public_key(), rsa.RSAPublicKey)
        rekey = {p for p in set(before) & set(after) if is_rsa(before[p].public_key) != new_type}
        self.check_replaced(ECK, before, after, reissue=reissue, rekey=rekey,
                            renew_before_days=1)  # ECK renews a day before expiry

    def check_elasticsearch(self, run: Recording, config: Config) -> None:
        """The Elasticsearch resource validates against ECK's CRD, and its transport TLS names
        what the mode needs."""
        body = manifest(run.named(ES))
        text = repr(body)
        if text not in self.validated:
            assert not elasticsearch_errors(body), elasticsearch_errors(body)
            self.validated.add(text)
        tls = body["spec"]["transport"]["tls"]
        owned: dict[str, Any] = {"certificateAuthorities": {
            "configMapName": eck_layout.trust_config_map(ECK_NAME)}}
        if config.ca_to_eck:
            owned["certificate"] = {"secretName": eck_layout.ca_secret(ECK_NAME)}
            if config.extra_dns:
                owned["subjectAltNames"] = [{"dns": name} for name in config.extra_dns]
        else:
            owned["selfSignedCertificates"] = {"disabled": True}
        assert tls == owned, tls

    def check_custody(self, run: Recording, snapshot: Path) -> None:
        """Besides the base checks: the one CA key Kubernetes gets is the issuing generation's,
        in the CA Secret; no other CA key (HTTP CA included) reaches any Kubernetes object."""
        super().check_custody(run, snapshot)
        ca_keys = {r.name: str(reveal(r.outputs["privateKeyPem"])).strip()[40:100]
                   for r in run.of_type(PRIVATE_KEY) if "-ca-" in r.name}
        issuing = None
        if CA_SECRET in {r.name for r in run}:
            key = secret_files(run, CA_SECRET)[eck_layout.CA_KEY_KEY].decode().strip()[40:100]
            (issuing,) = [name for name, excerpt in ca_keys.items() if excerpt == key]
            assert issuing.startswith(f"{ECK}-ca"), issuing
        for registration in run:
            if not registration.type.startswith("kubernetes:"):
                continue
            texts = list(plain_strings(reveal(registration.inputs)))
            for name, excerpt in ca_keys.items():
                forms = base64_forms(excerpt) | {excerpt}
                if any(form in text for text in texts for form in forms):
                    assert (registration.name, name) == (CA_SECRET, issuing), (
                        f"CA key {name} in {registration.name}")

    # -- steps ---------------------------------------------------------------------------------

    @initialize(pods=st.integers(2, 3), algorithm=st.sampled_from(ALGORITHMS),
                step=st.sampled_from(STEPS), protect=st.booleans(),
                mode=st.sampled_from(("ca-to-eck", "ca-to-eck", "per-node")),
                eck_http=st.booleans())
    def first_up(  # replaces the base machine's first `up` (same name)
        self, *, pods: int, algorithm: str, step: str | None, protect: bool, mode: str,
        eck_http: bool,
    ) -> None:
        config = self.initial_config()
        config.pods, config.protect, config.eck_http = pods, protect, eck_http
        config.eck_certificates = mode
        config.clusters[ECK].algorithm = algorithm
        config.clusters[ECK].ca.step = step  # a first deployment may start at any step
        self.up(config)

    one_edit, several_edits = edit_rules(EDITS)  # in place of the base machine's edits

    @rule(edit=st.sampled_from(("next_rotation_step",) * 3 + ("roll_back",)), data=st.data(),
          preview=st.booleans())
    def rotation_step(self, edit: str, data: st.DataObject, preview: bool) -> None:
        """The CA rotation, mostly forward: what ca-to-eck is about (among the edits too)."""
        self.edit_with(EDITS, [edit], data, preview)

    @precondition(lambda self: self.config.eck)
    @rule(kind=st.sampled_from(("pod-epoch", "epoch-without-http", "ip-as-dns",
                                "unknown-mode", "verification-mode")))
    def invalid_config(self, kind: str) -> None:
        """Config a ca-to-eck cluster must refuse, naming the key; nothing changes."""
        config = self.config
        rendered = config.render(self.out)
        entry, key = rendered[1], "clusters[1]"
        entry["eck"]["certificates"] = "ca-to-eck"
        if kind == "pod-epoch":
            entry["nodeRotationEpochs"] = {f"{STATEFULSET}-0": 1}
            key = f"{key}.nodeRotationEpochs"
        elif kind == "epoch-without-http":
            entry.pop("http", None)
            entry["rotationEpoch"], key = 1, f"{key}.rotationEpoch"
        elif kind == "ip-as-dns":
            entry["eck"]["extraDns"], key = ["10.9.9.9"], f"{key}.eck.extraDns[0]"
        elif kind == "unknown-mode":
            entry["eck"]["certificates"], key = "eck-issued", f"{key}.eck.certificates"
        else:
            entry["transport"] = {"verificationMode": "certificate"}
            key = f"{key}.transport.verificationMode"
        self.refused(rendered, config.protect, key)


def test_two_ca_rotations_under_ca_to_eck_keep_every_pod_talking() -> None:
    """The path the random walks seldom take in full, with every check of the machine after
    each `up` (a preview first): two whole rotations on a protected stack, the second to a CA
    of another key type (ECK re-keys the pods at `switch`), illegal jumps refused on the way,
    the CA inside its renew-before window, and per-node and back."""
    machine = CaToEckLifecycle()

    def up(change: Callable[[Config], None] = lambda _: None, *refused: str) -> None:
        config = copy.deepcopy(machine.config)
        change(config)
        assert machine.legal(config) == list(refused)
        if refused:
            machine.refused(config.render(machine.out), config.protect, *refused)
        else:
            machine.up(config, preview=True)

    def ca(generation: int, step: str | None) -> Callable[[Config], None]:
        return lambda config: setattr(config.clusters[ECK], "ca", Ca(generation, step))

    def no_draw(_: object) -> None:
        raise AssertionError("a scripted edit draws nothing")

    def algorithm(config: Config) -> None:
        config.clusters[ECK].algorithm = "rsa-2048"

    try:
        machine.first_up(pods=3, algorithm="ecdsa-p256", step=None, protect=True,
                         mode="ca-to-eck", eck_http=True)
        up(ca(1, "switch"), "clusters[1].ca.rotation.step")  # g2 is not trusted yet
        for step in ("introduce", "switch"):
            up(ca(1, step))
        machine.clock += timedelta(days=6)  # g1 is inside its renew-before window: warned
        up(ca(2, "switch"), "clusters[1].ca.rotation.step")  # g3 is not trusted yet
        up(ca(1, "retire"))
        up(ca(2, None))  # deletes g1
        up(ca(1, "switch"), "clusters[1].ca.rotation.step")  # g1 is gone for good
        up(algorithm)  # for the next generation
        for step in ("introduce", "switch", "retire"):
            up(ca(2, step))
        up(lambda config: toggle_protection(config, no_draw))
        up(ca(3, None))
        up(lambda config: toggle_eck_certificates(config, no_draw))
        up(lambda config: toggle_eck_certificates(config, no_draw))
        machine.rerun()
    finally:
        machine.teardown()


CaToEckLifecycle.TestCase.settings = settings(
    max_examples=4, stateful_step_count=6, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestCaToEckLifecycle = CaToEckLifecycle.TestCase
