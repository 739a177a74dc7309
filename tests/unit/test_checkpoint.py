"""Checkpoints: the file store of the CLI and the KV store of the modular input (through the fake
splunkd), what they keep and what they never keep."""

import io
import json

import pytest
import responses

from onepassword_events.checkpoint import FileCheckpointStore
from onepassword_events.client import EventsApiClient
from onepassword_events.collector import Collector
from onepassword_events.sinks import JsonLinesSink
from onepassword_events.streams import STREAMS
from onepassword_splunk import SplunkEdge
from helpers import events
from helpers.fake_api import BASE_URL, FakeEventsApi
from splunkd_fake import CHECKPOINT_COLLECTION

START = events.BASE - 3600


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeEventsApi(rsps)


def test_checkpoint_holds_no_secret(api, tmp_path):
    api.add("signinattempts", [events.signin(n) for n in range(3)])
    client = EventsApiClient(BASE_URL, api.token, sleep=lambda s: None)
    sink = JsonLinesSink(io.StringIO())
    Collector(client, FileCheckpointStore(str(tmp_path)), sink, "in", "acme", [STREAMS["signinattempts"]], START).run()
    for path in tmp_path.glob("*.json"):
        text = path.read_text()
        assert api.token not in text and api.token.split(".")[1] not in text
        assert set(json.loads(text)) == {"version", "account", "host", "cursor", "newest_second", "newest_time",
                                         "recent_since", "recent", "saved_at"}


def test_file_store_removes_temporaries_a_killed_process_left(tmp_path):
    (tmp_path / ".tmp-abc.json").write_text('{"cursor": "half')
    store = FileCheckpointStore(str(tmp_path))
    store.save("in.signinattempts", json.dumps({"cursor": "c"}))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "in.signinattempts.json"]



# -- KV store checkpoints ----------------------------------------------------------------------
def test_kvstore_checkpoint_store_round_trip(splunkd):
    store = SplunkEdge(splunkd.session_key).checkpoint_store()
    # solnlib created the missing collection with the field the add-on declares
    assert splunkd.kv_collections() == {CHECKPOINT_COLLECTION: {"state": "string"}}
    key = "acme_events.auditevents"
    assert store.get(key) is None

    state = {"version": 1, "account": "acme", "host": "events.1password.com", "cursor": "aGVsbG8=",
             "newest_second": 1767225600, "recent_since": 1767224700, "recent": [[1767225600, "U1"]]}
    store.save(key, json.dumps(state))
    record = splunkd.kv_records()[key]
    # the add-on hands solnlib its state as JSON text, which solnlib stores as a JSON string
    assert record["_key"] == key and isinstance(record["state"], str)
    assert json.loads(json.loads(record["state"])) == state
    assert set(record) == {"_key", "state", "_user"}
    assert store.get(key) == state
    # a state saved by an earlier version (the object itself) still reads
    splunkd.kv_put(key, {"state": json.dumps(state)})
    assert store.get(key) == state

    store.save(key, json.dumps(dict(state, cursor="bmV4dA==")))
    assert store.get(key)["cursor"] == "bmV4dA==" and list(splunkd.kv_records()) == [key]

    store.delete(key)
    assert splunkd.kv_records() == {} and store.get(key) is None
    store.delete(key)  # a missing record: 404, which is not an error
    statuses = [r.status for r in splunkd.requests_for(kind="kvstore") if r.method == "DELETE"]
    assert statuses == [200, 404]


def test_kvstore_starting_up_is_retried(splunkd):
    splunkd.fail_kvstore(times=1, status=503)
    store = SplunkEdge(splunkd.session_key).checkpoint_store()
    store.save("a.signinattempts", json.dumps({"cursor": "c"}))
    assert splunkd.kv_states() == {"a.signinattempts": {"cursor": "c"}}
    kv = [r.status for r in splunkd.requests if r.kind.startswith("kvstore")]
    assert kv[0] == 503 and 503 not in kv[1:]



# -- the file store's saves: atomic without creating a file per save ----------------------------
def _state(n, size=0):
    return json.dumps({"cursor": "c%d" % n, "recent": [[n, ["u" * 26] * size]]})


def test_file_store_reads_back_every_save_and_leaves_only_the_state_file(tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    for n in range(1, 30):
        # states that grow and shrink: no tail of a longer earlier state may remain
        store.save("in.signinattempts", _state(n, size=(n * 37) % 200))
        assert store.get("in.signinattempts")["cursor"] == "c%d" % n
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "in.signinattempts.json"]
    assert FileCheckpointStore(str(tmp_path)).get("in.signinattempts")["cursor"] == "c29"


def test_file_store_saves_over_a_state_file_replaced_by_hand(tmp_path):
    """Someone restores a state file while a run goes on (a new file renamed over it):
    every later save is the state read back, never the restored file nor an older state."""
    store = FileCheckpointStore(str(tmp_path))
    path = tmp_path / "in.itemusages.json"
    store.save("in.itemusages", _state(1))
    store.save("in.itemusages", _state(2))
    restored = tmp_path / "restored"
    restored.write_text(json.dumps({"cursor": "restored"}))
    restored.replace(path)
    for n in range(3, 8):
        store.save("in.itemusages", _state(n))
        assert json.loads(path.read_text())["cursor"] == "c%d" % n
    # and one deleted by hand
    path.unlink()
    store.save("in.itemusages", _state(8))
    store.save("in.itemusages", _state(9))
    assert store.get("in.itemusages")["cursor"] == "c9"


def test_file_store_saves_where_hard_links_are_refused(tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr("os.link", refused)
    store = FileCheckpointStore(str(tmp_path))
    for n in range(1, 6):
        store.save("in.auditevents", _state(n))
        assert store.get("in.auditevents")["cursor"] == "c%d" % n
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "in.auditevents.json"]


def test_file_store_delete_then_save(tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    for n in range(1, 4):
        store.save("in.signinattempts", _state(n))
    store.delete("in.signinattempts")
    assert store.get("in.signinattempts") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"]
    store.save("in.signinattempts", _state(4))
    store.save("in.signinattempts", _state(5))
    assert store.get("in.signinattempts")["cursor"] == "c5"


_SAVING_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from onepassword_events.checkpoint import FileCheckpointStore
store = FileCheckpointStore(sys.argv[1])
n = 0
while True:
    n += 1
    # large states (about 300 KB): a write cut by the kill spans many pages
    store.save("in.itemusages", json.dumps({"cursor": "c%d" % n, "n": n, "recent": [[n, ["u" * 26] * (n % 7000)]]}))
    if n == 3:
        sys.stdout.write("saving\n")
        sys.stdout.flush()
"""


def test_file_store_killed_mid_save_leaves_a_whole_state(tmp_path):
    """kill -9 a process saving large states back to back, 15 times: the state file
    is always a whole state, and never older than a save known to have ended."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    bin_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "package", "bin")
    rng = random.Random(17)
    for _ in range(15):
        child = subprocess.Popen([sys.executable, "-c", _SAVING_CHILD, str(tmp_path), bin_dir],
                                 stdout=subprocess.PIPE)
        assert child.stdout.readline() == b"saving\n"
        time.sleep(rng.uniform(0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        store = FileCheckpointStore(str(tmp_path))
        state = json.loads((tmp_path / "in.itemusages.json").read_text())  # whole JSON
        assert state["cursor"] == "c%d" % state["n"] and len(state["recent"][0][1]) == state["n"] % 7000
        assert store.get("in.itemusages")["cursor"] == state["cursor"]
        assert state["n"] >= 3
        store.close()
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "in.itemusages.json"]
