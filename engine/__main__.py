"""`python -m engine` runs the `guideline` command."""

import sys

from engine.cli import main

sys.exit(main())
