"""Benchmark driver: the same job built the naive way, as a baseline.

requests + json + one splunklib Event per item written with
EventWriter.write_event (one ElementTree per event), cursor saved per page.
Run as: python -I -S naive.py ADDON_DIR BASE_URL STATE_DIR EVENT_TYPES  (token on stdin)
"""

import json
import os
import re
import sys
import time

from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
from figures import report  # noqa: E402

started_wall = time.perf_counter()
addon, base_url, state_dir, event_types = sys.argv[1:5]
sys.path.insert(0, os.path.join(addon, "lib"))
import requests  # noqa: E402
from splunklib.modularinput import Event, EventWriter  # noqa: E402

SOURCETYPES = {"signinattempts": "1password:insights:signin_attempts", "itemusages": "1password:insights:item_usages",
               "auditevents": "1password:insights:audit_events"}
token = sys.stdin.readline().strip()
session = requests.Session()
session.headers["Authorization"] = "Bearer " + token
verify = os.environ.get("BENCH_CA_BUNDLE") or True  # per request: $REQUESTS_CA_BUNDLE would override the session's
writer = EventWriter(output=sys.stdout)
events = 0
for stream in event_types.split(","):
    state_file = os.path.join(state_dir, stream + ".json")
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
    body = {"limit": 1000, "start_time": start}
    if os.path.exists(state_file):
        body = {"cursor": json.load(open(state_file))["cursor"]}
    while True:
        response = session.post(f"{base_url}/api/v2/{stream}", json=body, timeout=60, verify=verify)
        response.raise_for_status()
        page = response.json()
        for item in page["items"]:
            # datetime wants exactly 3 or 6 fraction digits before Python 3.11, and no "Z"
            text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "00000")[:6], item["timestamp"])
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
            writer.write_event(Event(data=json.dumps(item), time="%.3f" % ts.timestamp(), index="main",
                                     sourcetype=SOURCETYPES[stream], source="1password:bench"))
            events += 1
        with open(state_file, "w") as handle:
            json.dump({"cursor": page["cursor"]}, handle)
        body = {"cursor": page["cursor"]}
        if not page["has_more"]:
            break
writer.close()
report(events, started_wall)
