"""Benchmark driver: the same job built the naive way, as a baseline.

requests + json + one splunklib Event per item written with
EventWriter.write_event (one ElementTree per event), cursor saved per page.
Run as: python -I -S naive.py ADDON_DIR BASE_URL STATE_DIR EVENT_TYPES  (token on stdin)
"""

import json
import os
import re
import resource
import sys
import time
from datetime import datetime

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
session.verify = os.environ.get("BENCH_CA_BUNDLE") or True
writer = EventWriter(output=sys.stdout)
events = 0
for stream in event_types.split(","):
    state_file = os.path.join(state_dir, stream + ".json")
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
    body = {"limit": 1000, "start_time": start}
    if os.path.exists(state_file):
        body = {"cursor": json.load(open(state_file))["cursor"]}
    while True:
        response = session.post(f"{base_url}/api/v2/{stream}", json=body, timeout=60)
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
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: ru_maxrss survives exec and so counts the parent's
# memory at fork (the benchmark process holding the simulator's backlog).
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
sys.stderr.write(json.dumps({
    "events": events, "wall_s": time.perf_counter() - started_wall,
    "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": peak_kb,
}) + "\n")
