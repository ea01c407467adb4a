"""Rotation decisions: which CA steps may follow the last deployment, when a node certificate is
renewed, and the replacement triggers that make the engine act on both.

Pure functions of the validated config, the last deployment's exports and "now", so the same
config on the same day always yields the same triggers (no diff). docs/rotation.md is the
operator's side of the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from cryptography import x509

from components.certificate_facts import sha256_fingerprint
from components.config_reader import ConfigProblem, join
from components.model import CaMode, ClusterSpec, JudgedClusters, Lifetime
from components.model_http import HttpMode
from components.model_rotation import DeployedCluster, DeployedNode, RotationStep, TrustState

# The trust state of a stack deployed before rotation existed: one CA, generation 1.
LEGACY_TRUST = TrustState((1,), 1)


def transition_problems(
    previous: TrustState, wanted: TrustState, key: str, retained: tuple[int, ...] = ()
) -> list[ConfigProblem]:
    """Why `wanted` may not follow `previous` in one `pulumi up` (empty: it may). `retained`
    are retired generations whose CA is still in state (protected stacks keep it one update).

    During an `up` some nodes still run the last deployment's files and some the new ones, in
    any mix. Every pair completes mutual TLS exactly when each side's issuer is in the other
    side's trust list: the new issuer must already be trusted by the deployed nodes, and the
    deployed issuer must stay trusted by the new ones (INV-TRUST-CONTINUITY).
    """
    problems: list[ConfigProblem] = []
    seen = f"the last deployment has {previous.describe()}; this config wants {wanted.describe()}"
    for generation in wanted.generations:
        retired = generation < max(previous.generations) and generation not in retained
        if generation not in previous.generations and retired:
            # Retired with its key destroyed, or never deployed on this stack (a first `up`
            # may start at any step): either way there is no such CA to come back to.
            problems.append(ConfigProblem(key, (
                f"CA generation g{generation} is older than every generation in service and not "
                f"in this stack's state (retired and its key destroyed, or never deployed here); "
                f"it cannot come back ({seen}). Set ca.generation to {previous.issuing} (the "
                "generation in service) and rotate forward from there"
            )))
    if wanted.issuing not in previous.generations:
        problems.append(ConfigProblem(key, (
            f"g{wanted.issuing} would issue the node certificates, but the deployed nodes do not "
            f"trust it yet ({seen}): deploy step 'introduce' first "
            f"(ca.generation: {previous.issuing}, ca.rotation.step: introduce)"
        )))
    if previous.issuing not in wanted.generations:
        problems.append(ConfigProblem(key, (
            f"the deployed node certificates are issued by g{previous.issuing}, which this "
            f"config no longer trusts ({seen}): deploy step 'switch' first "
            f"(ca.generation: {previous.issuing}, ca.rotation.step: switch) so that every node "
            f"holds a g{wanted.issuing} certificate before g{previous.issuing} is retired"
        )))
    return problems


def withdrawn_generations(
    cluster: ClusterSpec, deployed: DeployedCluster | None
) -> tuple[int, ...]:
    """CA generations the last deployment trusted and this config does not: the old one at
    `retire`, the new one when `introduce` is rolled back."""
    if deployed is None:
        return ()
    wanted = set(cluster.ca.rotation.trust.generations)
    return tuple(g for g in deployed.trust.generations if g not in wanted)


def rotation_key(index: int, cluster: ClusterSpec) -> str:
    """The stack key a refused transition is reported at."""
    ca_key = join(join("clusters", index), "ca")
    return join(ca_key, "rotation.step" if cluster.ca.rotation.step else "generation")


def stack_problems(
    clusters: JudgedClusters, deployed: Mapping[str, DeployedCluster]
) -> list[ConfigProblem]:
    """Every refused CA transition of the stack, each at its cluster's key."""
    problems: list[ConfigProblem] = []
    for index, cluster in clusters.indexed:
        previous = deployed.get(cluster.name)
        if previous is None:
            continue  # a new cluster: no node runs anything yet, every state is safe
        problems += transition_problems(
            previous.trust, cluster.ca.rotation.trust, rotation_key(index, cluster),
            previous.retiring,
        )
    return problems


def renewal_due(not_after: datetime, lifetime: Lifetime) -> datetime:
    return not_after - timedelta(days=lifetime.renew_before_days)


def renewal_count(previous: DeployedNode | None, lifetime: Lifetime, now: datetime) -> int:
    """A certificate's renewal count: the deployed one, plus one once the certificate has
    entered its renew-before window. A new certificate (or the first deployment) starts at 0."""
    if previous is None:
        return 0
    due = now >= renewal_due(previous.not_after, lifetime)
    return previous.renewal + 1 if due else previous.renewal


def renewal_counts(
    deployed: Mapping[str, DeployedNode], lifetime: Lifetime, now: datetime
) -> dict[str, int]:
    """Name → renewal count of every certificate the last deployment exported (transport nodes:
    `DeployedCluster.nodes`; generated HTTP: `.http_certificates`). A certificate it did not
    export is new: its count is 0, which the components take for an absent name."""
    return {name: renewal_count(previous, lifetime, now) for name, previous in deployed.items()}


def renewal_trigger(count: int) -> str | None:
    """`replacement_trigger` of a node's LocallySignedCert. None until the first renewal, so
    that stacks deployed before renewal triggers existed see no change."""
    return f"renewal-{count}" if count else None


def rekey_trigger(epochs: tuple[int, int | str]) -> str | None:
    """`replacement_trigger` of a node's PrivateKey: (cluster, node) rotation epochs (for the
    shared HTTP key, every node's: `Epochs.of_every_node`). None while both are 0, for the
    same reason as `renewal_trigger`."""
    return f"epoch-{epochs[0]}.{epochs[1]}" if any(epochs) else None


def ca_expiry_warnings(
    cluster: ClusterSpec, deployed: DeployedCluster | None, now: datetime
) -> list[str]:
    """A CA is never renewed in place (that would swap the CA in one update): once the issuing
    generation enters its renew-before window, this says to rotate it; likewise for the
    generated HTTP CA, which has no rotation yet."""
    if deployed is None:
        return []
    lifetime = cluster.ca.lifetime  # the HTTP CA's too (components.http_pki)
    warnings: list[str] = []
    issuing = cluster.ca.rotation.trust.issuing
    not_after = deployed.ca_not_after.get(issuing)
    days = _inside_window(not_after, lifetime, deployed.ca_renew_before_days.get(issuing), now)
    if not_after is not None and days is not None:
        expiring = (
            f"expires on {not_after:%Y-%m-%d} and is inside its {days}-day renew-before window"
        )
        if cluster.ca.mode is CaMode.PROVIDED:
            # A provided CA takes no generation/rotation keys (config refuses them).
            warnings.append(
                f"cluster {cluster.name}: the provided CA {expiring}. The program does not "
                "rotate a provided CA; replace it as docs/rotation.md 'Provided CAs' describes"
            )
        elif cluster.ca.rotation.step is RotationStep.INTRODUCE:
            # Its successor is trusted already: rotating it means finishing this rotation.
            warnings.append(
                f"cluster {cluster.name}: CA generation g{issuing} {expiring}. Its rotation to "
                f"g{issuing + 1} is under way: continue it (docs/rotation.md): "
                "ca.rotation.step: switch, then retire"
            )
        else:
            warnings.append(
                f"cluster {cluster.name}: CA generation g{issuing} {expiring}. The program "
                f"never replaces a CA in place; rotate it (docs/rotation.md): ca.generation: "
                f"{issuing}, ca.rotation.step: introduce, then switch, then retire"
            )
    http_not_after = deployed.http_ca_not_after
    http_days = _inside_window(http_not_after, lifetime, deployed.http_ca_renew_before_days, now)
    generated_http = cluster.http is not None and cluster.http.mode is HttpMode.GENERATED
    if generated_http and http_not_after is not None and http_days is not None:
        warnings.append(
            f"cluster {cluster.name}: the generated HTTP CA expires on {http_not_after:%Y-%m-%d} "
            f"and is inside its {http_days}-day renew-before window. The program cannot rotate "
            "the HTTP CA yet: before it expires, move HTTPS to a chain from a CA its clients "
            "already trust (http.mode: provided, docs/http.md), or HTTPS clients will reject "
            "every node"
        )
    return warnings


def ca_swap_warnings(cluster: ClusterSpec, deployed: DeployedCluster | None) -> list[str]:
    """A transport CA that is none of the deployed live generations replaces, in this one
    update, the CA every node trusts: a provided CA other than the deployed one (provided or
    generated before it), or a generated CA where a provided one was deployed.
    INV-TRUST-CONTINUITY holds only if no node runs meanwhile. Warned, not refused:
    docs/rotation.md allows it in a maintenance window, and a refusal would need a key to
    acknowledge it."""
    if deployed is None:
        return []
    provided = cluster.ca.provided
    if provided is not None and deployed.ca_fingerprints:
        configured = sha256_fingerprint(
            x509.load_pem_x509_certificate(provided.cert_pem.encode()))
        if configured in deployed.ca_fingerprints.values():
            return []
        was = ", ".join(f"g{g} {fp[:23]}…" for g, fp in sorted(deployed.ca_fingerprints.items()))
        swap = f"ca.certPem ({configured[:23]}…) is not the CA the nodes trust now ({was})"
    elif provided is None and deployed.ca_mode == CaMode.PROVIDED.value:
        swap = "a generated CA replaces the provided CA the nodes trust now"
    else:
        return []
    return [
        f"cluster {cluster.name}: {swap}: this update swaps the transport CA in one step, so "
        "until every node has its new files, nodes on the old CA and nodes on the new one "
        "refuse each other's transport connections and the cluster splits "
        "(INV-TRUST-CONTINUITY). Do it only in a maintenance window, or keep the deployed CA "
        "and move to the new one through a new cluster entry (docs/rotation.md, 'Provided CAs')"
    ]


def _inside_window(
    not_after: datetime | None, lifetime: Lifetime, deployed_days: int | None, now: datetime
) -> int | None:
    """The renew-before window in days once `not_after` is inside it, else None. The window is
    the wider of the configured one and the one the deployed CA was created with, which its
    `early_renewal_hours` keeps (components.cluster_ca ignores later changes)."""
    if not_after is None:
        return None
    days = max(lifetime.renew_before_days, deployed_days or 0)
    return days if now >= not_after - timedelta(days=days) else None
