"""The stack-level posture keys `protectCa` and `passphraseSecrets`, checked against the
secrets provider the stack file names (README "State and secrets").

Outside dev both default to the safe side: CA resources protected, a passphrase provider
warned about. A stack can be stricter (`passphraseSecrets: refuse`, as prod is) or, for a
deliberate teardown, lift the protection (`protectCa: false`, which warns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config_reader import Problems, boolean, choice
from components.model_posture import PassphraseSecrets, Posture, SecretsProvider, is_dev_stack

PROTECT_CA_KEY = "protectCa"
PASSPHRASE_SECRETS_KEY = "passphraseSecrets"
POSTURE_KEYS = frozenset({PROTECT_CA_KEY, PASSPHRASE_SECRETS_KEY})
KMS_EXAMPLE = "awskms://alias/es-transport-pki-<stack>?region=<region>"


def posture(
    raw: Mapping[str, Any], stack: str, secrets: SecretsProvider | None, problems: Problems
) -> Posture:
    """`secrets` is what the stack file says (None: no stack file, nothing to judge)."""
    dev = is_dev_stack(stack)
    protect_ca = boolean(raw, PROTECT_CA_KEY, "", problems, default=not dev)
    default_policy = PassphraseSecrets.ALLOW if dev else PassphraseSecrets.WARN
    policy = (
        choice(raw, PASSPHRASE_SECRETS_KEY, "", problems, enum=PassphraseSecrets,
               default=default_policy)
        or default_policy
    )
    warnings: list[str] = []
    if not protect_ca and not dev:
        warnings.append(
            f"stack {stack}: {PROTECT_CA_KEY} is false, so a `pulumi destroy` or a refactor can "
            "delete or replace a live CA and every node stops trusting its peers; set it back "
            f"to true (`pulumi config set {PROTECT_CA_KEY} true`) once the teardown is done"
        )
    local_key = secrets.local_key if secrets is not None else None
    if local_key is not None and policy is not PassphraseSecrets.ALLOW:
        message = (
            f"stack {stack} encrypts its secrets, the CA private keys in its state among them, "
            f"{local_key}: whoever has that key and a copy of the state can sign node "
            "certificates, and such a key cannot be revoked or audited. Move the stack "
            f"to a KMS: `pulumi stack change-secrets-provider --stack {stack} \"{KMS_EXAMPLE}\"` "
            "(or gcpkms://, azurekeyvault://, hashivault://; docs/state-and-secrets.md)"
        )
        if policy is PassphraseSecrets.REFUSE:
            problems.add(PASSPHRASE_SECRETS_KEY, f"is 'refuse' and {message}")
        else:
            warnings.append(
                f"{message}. Set {PASSPHRASE_SECRETS_KEY}: refuse to make this an error, or "
                "allow to silence it"
            )
    return Posture(protect_ca, policy, tuple(warnings))

