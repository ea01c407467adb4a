"""The Pulumi program: config → one TransportPki per cluster → stack outputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pulumi

from components.config import read_stack_config
from components.transport_pki import TransportPki, TransportPkiArgs


def main(clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    # Validation runs before the first registration: invalid config creates nothing.
    spec = read_stack_config(clock())
    inventory = {
        cluster.name: TransportPki(cluster.name, TransportPkiArgs(cluster)).inventory
        for cluster in spec.clusters
    }
    # Public material and facts only: private keys stay inside the components, as secrets.
    pulumi.export("clusters", inventory)
