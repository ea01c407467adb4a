"""Offline verification harness: mock runtime with a pulumi-tls emulator, and more."""
