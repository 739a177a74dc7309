"""Detection tests: saved searches, macros, lookups, scenarios and rule logic, statically.
The helpers live in detections_lib.py (paths to tests/knowledge and samples/scenarios)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import detections_lib  # noqa: E402,F401  (puts tests/knowledge and samples/scenarios on sys.path)
