"""Dashboard tests import their helpers from this folder; built_addon comes from tests/conftest.py."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
