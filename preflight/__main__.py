"""`python -m preflight --stack dev`."""

import sys

from components import gc_thresholds
from preflight.cli import main

gc_thresholds.apply()
sys.exit(main(sys.argv[1:]))
