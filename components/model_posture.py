"""The stack's security posture in the typed model: whether CA resources are protected, and how
a passphrase secrets provider is treated (README "State and secrets", docs/state-and-secrets.md).

The CA private keys live in the stack's state, encrypted by its secrets provider; so the
provider and the protection of the CA resources are part of this product's security.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

PASSPHRASE = "passphrase"
# gocloud.dev's local-key scheme: the key itself is part of the URL, so of the stack file.
BASE64_KEY_SCHEME = "base64key://"


class PassphraseSecrets(Enum):
    """Stack key `passphraseSecrets`: what a non-dev stack using a passphrase provider gets."""

    ALLOW = "allow"
    WARN = "warn"
    REFUSE = "refuse"


@dataclass(frozen=True)
class SecretsProvider:
    """What a stack file (`Pulumi.<stack>.yaml`) says about the stack's secrets provider."""

    url: str | None  # `secretsprovider`, e.g. awskms://alias/x?region=eu-west-1
    has_encryption_salt: bool  # `encryptionsalt`: written by the passphrase provider

    @property
    def is_passphrase(self) -> bool:
        # The passphrase provider writes only `encryptionsalt` (or is named explicitly); a
        # stack file naming neither uses its backend's default (Pulumi Cloud: service-managed).
        if self.url is None:
            return self.has_encryption_salt
        return self.url == PASSPHRASE

    @property
    def local_key(self) -> str | None:
        """How the secrets are encrypted when no KMS or service holds the key, else None."""
        if self.is_passphrase:
            return "with a passphrase"
        if self.url is not None and self.url.startswith(BASE64_KEY_SCHEME):
            return "with a key written into the stack file itself (base64key://)"
        return None


@dataclass(frozen=True)
class Posture:
    """Stack keys `protectCa` and `passphraseSecrets`, and what they found to warn about."""

    protect_ca: bool = False
    passphrase_secrets: PassphraseSecrets = PassphraseSecrets.ALLOW
    warnings: tuple[str, ...] = ()


def is_dev_stack(stack: str) -> bool:
    """`dev` and personal `dev-<name>` stacks: throwaway CAs, local state, a passphrase."""
    return stack == "dev" or stack.startswith("dev-")
