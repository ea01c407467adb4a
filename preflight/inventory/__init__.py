"""`python -m preflight.inventory`: what certificates a stack's clusters hold, when each is due
for renewal, where a CA rotation stands, and (`--probe`) what a live node presents."""
