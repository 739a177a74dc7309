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

