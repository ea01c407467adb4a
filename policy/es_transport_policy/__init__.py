"""Rules and adapters of the es-transport-pki CrossGuard policy pack (see ../README.md)."""
