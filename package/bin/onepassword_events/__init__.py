"""Collector core of the 1Password Events add-on for Splunk.

Nothing in this package imports Splunk libraries: the modular input, the
troubleshooting CLI, the tests and the benchmark all drive the same pieces
(client -> collector -> sink, with a checkpoint store beside them).
"""

ADDON_NAME = "TA-1password-events"
ADDON_VERSION = "1.0.0"
USER_AGENT = f"{ADDON_NAME}/{ADDON_VERSION}"
