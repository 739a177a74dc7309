"""Benchmark driver: the floor of a request, a bare http.client loop.

The same requests as the add-on (one keep-alive HTTPS connection, the bearer
header, a JSON body, the page read whole and decoded with json.loads for its
cursor and has_more), and nothing else: no events written, no checkpoint.
Run as: python -I -S floor.py ADDON_DIR BASE_URL STATE_DIR EVENT_TYPES [PAGE_SIZE]
(token on stdin; $BENCH_CA_BUNDLE: the CA of an https:// BASE_URL).
"""

import http.client
import json
import os
import ssl
import sys
import time

from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
from figures import report  # noqa: E402

started_wall = time.perf_counter()
addon, base_url, state_dir, event_types = sys.argv[1:5]
page_size = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
token = sys.stdin.readline().strip()
url = urlsplit(base_url)
if url.scheme == "https":
    context = ssl.create_default_context(cafile=os.environ.get("BENCH_CA_BUNDLE"))
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=60)
else:
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json", "Accept": "application/json"}
events = 0
for stream in event_types.split(","):
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
    body = {"limit": page_size, "start_time": start}
    while True:
        connection.request("POST", "/api/v2/" + stream, json.dumps(body).encode(), headers)
        response = connection.getresponse()
        page = json.loads(response.read())
        if response.status != 200:
            raise SystemExit("HTTP %d" % response.status)
        events += len(page["items"])
        body = {"cursor": page["cursor"]}
        if not page["has_more"]:
            break
connection.close()
report(events, started_wall)
