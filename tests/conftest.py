"""Shared test setup: the add-on's bin/ on sys.path, solnlib logs in a temp dir."""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "package", "bin")
FAKES = os.path.join(ROOT, "tests", "fakes")
for path in (BIN, FAKES, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

# solnlib writes its log files under $SPLUNK_HOME/var/log/splunk.
os.environ.setdefault("SPLUNK_HOME", tempfile.mkdtemp(prefix="splunk-home-"))
os.makedirs(os.path.join(os.environ["SPLUNK_HOME"], "var", "log", "splunk"), exist_ok=True)
