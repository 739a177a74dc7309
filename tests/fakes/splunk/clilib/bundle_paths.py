"""Fake of splunkd's path helper: paths under $SPLUNK_HOME (set by tests/conftest.py)."""

import os


def make_splunkhome_path(parts):
    return os.path.join(os.environ["SPLUNK_HOME"], *parts)
