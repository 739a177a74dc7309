"""Benchmark driver: the add-on's real input code, from the built package.

Run as: python -I -S ours.py ADDON_DIR BASE_URL STATE_DIR EVENT_TYPES [PAGE_SIZE]
with the token on stdin. splunkd's side is the add-on's LocalEdge (the account handed
in, file checkpoints, one logger): everything from the HTTP request to the
modular-input XML on stdout is the code the input runs.
Prints one JSON line of figures on stderr.
"""

import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
from figures import report  # noqa: E402

started_wall = time.perf_counter()
addon, base_url, state_dir, event_types = sys.argv[1:5]
page_size = sys.argv[5] if len(sys.argv) > 5 else "1000"
sys.path.insert(0, os.path.join(addon, "bin"))
import import_declare_test  # noqa: E402,F401  (the add-on's lib/ first, as in Splunk)

import onepassword_events_helper as helper  # noqa: E402
from onepassword_events.sinks import ModularInputStream  # noqa: E402
from onepassword_splunk import LocalEdge  # noqa: E402

token = sys.stdin.readline().strip()
account = {"token": token, "region": "custom", "custom_url": base_url, "ca_bundle": os.environ.get("BENCH_CA_BUNDLE")}
logger = logging.getLogger("bench")
logger.addHandler(logging.StreamHandler(sys.stderr))
logger.setLevel(logging.WARNING)
edge = LocalEdge("bench", account, logger, state_dir=state_dir)
stream = ModularInputStream(sys.stdout)
item = {"account": "bench", "index": "main", "event_types": event_types, "page_size": page_size}
helper.collect_input("onepassword://bench", item, edge, stream)
stream.close()
report(edge.ingested, started_wall)
