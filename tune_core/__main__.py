"""``python -m tune_core`` runs the ``tune-core`` command."""

import sys

from tune_core.cli import main

sys.exit(main())
