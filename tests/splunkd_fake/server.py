"""Run FakeSplunkd as its own process (for benchmarks or manual runs).

    python3 tests/splunkd_fake/server.py [--port 0] [--splunk-home DIR] [--session-key KEY]
        [--state state.json] [--install-app output/TA-1password-events] [--dump out.json]

Prints one JSON line when ready: {"port", "url", "splunk_home", "session_key"}.
Serves until SIGTERM or SIGINT; then writes the KV store and the request log to
--dump (never the passwords). --state is FakeSplunkd.load_state's input:
{"accounts": {"acme": {"token": "...", "region": "custom", "custom_url": "http://127.0.0.1:9999"}},
 "proxy": {...}, "log_level": "DEBUG", "kvstore": {"<collection>": {"<key>": {...}}},
 "kvstore_failures": 0}
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from splunkd_fake import FakeSplunkd  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--splunk-home")
    parser.add_argument("--session-key")
    parser.add_argument("--state")
    parser.add_argument("--install-app", action="append", default=[])
    parser.add_argument("--dump")
    args = parser.parse_args(argv)
    splunkd = FakeSplunkd(splunk_home=args.splunk_home, session_key=args.session_key, port=args.port)
    splunkd.start()
    for app in args.install_app:
        splunkd.install_app(app)
    if args.state:
        with open(args.state, encoding="utf-8") as handle:
            splunkd.load_state(json.load(handle))
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(json.dumps({"port": splunkd.port, "url": splunkd.url, "splunk_home": splunkd.splunk_home,
                      "session_key": splunkd.session_key}), flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        if args.dump:
            with open(args.dump, "w", encoding="utf-8") as handle:
                json.dump(splunkd.dump_state(), handle, indent=1)
        splunkd.stop(remove_home=False if args.splunk_home else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
