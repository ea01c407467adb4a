"""Entry point run by `pulumi up`; see components/program.py."""

from components.program import main

main()
