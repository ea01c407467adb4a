"""Offline preflight: run a stack's program under the mock runtime and show what it would create."""
