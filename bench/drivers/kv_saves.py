"""Benchmark driver: checkpoint saves into the KV store, as the input makes one per page.

Run as: python -I -S kv_saves.py ADDON_DIR SPLUNKD_URL SESSION_KEY STORE SAVES
STORE is "ours" (the add-on's KVStoreCheckpointStore over the edge's one connection) or
"solnlib" (solnlib's KVStoreCheckpointer, which the add-on used before). Prints one JSON
line on stderr: the CPU of the saves alone (imports and the store's opening left out).
"""

import json
import os
import resource
import sys
import urllib.parse

addon, splunkd_url, session_key, store_name, saves = sys.argv[1:6]
sys.path.insert(0, os.path.join(addon, "bin"))
import import_declare_test  # noqa: E402,F401  (the add-on's lib/ first, as in Splunk)

from onepassword_splunk import ADDON_NAME, CHECKPOINT_COLLECTION, SplunkEdge  # noqa: E402

STATE = {"version": 1, "account": "bench", "host": "events.1password.com", "cursor": "a" * 200,
         "newest_second": 1767225600, "recent_since": 1767224700, "recent": [[1767225600, "U%d" % n] for n in range(20)]}

if store_name == "ours":
    store = SplunkEdge(session_key, splunkd_url).checkpoint_store()
else:
    from solnlib.modular_input.checkpointer import KVStoreCheckpointer

    address = urllib.parse.urlsplit(splunkd_url)
    store = KVStoreCheckpointer(CHECKPOINT_COLLECTION, session_key, ADDON_NAME, scheme=address.scheme,
                                host=address.hostname, port=address.port)
    store.save = store.update


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


store.save("bench.warm", json.dumps(STATE))  # the first connection and handshake, paid once a run either way
before = cpu()
for n in range(int(saves)):
    store.save("bench.signinattempts", json.dumps(dict(STATE, newest_second=STATE["newest_second"] + n)))
sys.stderr.write(json.dumps({"saves": int(saves), "cpu_s": cpu() - before}) + "\n")
