"""Make ``import vae_micro2d`` work when a module of this folder is run as a script."""

import sys
from pathlib import Path

EXAMPLES_DIR = str(Path(__file__).resolve().parent.parent)
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)
