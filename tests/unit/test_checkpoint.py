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


# -- the file store's directory, lock and files ------------------------------------------------
import os  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from onepassword_events.checkpoint import (  # noqa: E402
    MAX_CHECKPOINT_BYTES,
    CheckpointError,
    MemoryCheckpointStore,
    StateDirectoryBusy,
    StateDirectoryError,
    checkpoint_key,
)


BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "package", "bin")


@pytest.fixture
def no_umask():
    old = os.umask(0)
    yield
    os.umask(old)


def test_a_new_state_directory_and_its_lock_are_private_whatever_the_umask(tmp_path, no_umask):
    state = tmp_path / "new" / "state"  # its parent is missing too
    store = FileCheckpointStore(str(state))
    store.save(checkpoint_key("in", "signinattempts"), json.dumps({"cursor": "c"}))
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state / ".lock").st_mode) == 0o600
    assert sorted(p.name for p in state.iterdir()) == [".lock", "in.signinattempts.json"]
    store.close()


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o720, 0o702])
def test_a_directory_others_may_write_to_is_refused_and_left_untouched(tmp_path, mode):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, mode)
    with pytest.raises(StateDirectoryError) as caught:
        FileCheckpointStore(str(state))
    assert str(caught.value) == (f"the state directory {state} is writable by other users (mode {mode:o}); "
                                 f"run chmod 700 {state} or use a directory of your own")
    assert caught.value.category == "configuration" and os.listdir(state) == []


@pytest.mark.parametrize("mode", [0o700, 0o755, 0o711])
def test_a_directory_others_may_only_read_is_used(tmp_path, mode):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, mode)
    FileCheckpointStore(str(state)).close()
    assert stat.S_IMODE(os.stat(state).st_mode) == mode  # an existing directory's mode is the admin's


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_directory_of_another_user_is_refused(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, 65534, -1)
    with pytest.raises(StateDirectoryError) as caught:
        FileCheckpointStore(str(state))
    assert str(caught.value) == (f"the state directory {state} belongs to another user (uid 65534); "
                                 "use a directory of your own")
    assert os.listdir(state) == []


def test_a_path_that_is_not_a_directory_is_a_setting_to_fix(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(StateDirectoryError) as caught:
        FileCheckpointStore(str(path))
    assert str(caught.value) == (f"the state directory {path} cannot be used (Not a directory); "
                                 "choose a directory you can write to")


def test_a_lock_planted_as_a_symlink_is_refused_and_not_followed(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    target = tmp_path / "victim"
    os.symlink(target, state / ".lock")
    with pytest.raises(StateDirectoryError) as caught:
        FileCheckpointStore(str(state))
    assert str(caught.value) == (f"the lock file {state / '.lock'} is a symbolic link, which is not followed; "
                                 "remove it, or use a directory of your own")
    assert not target.exists()


def test_one_store_per_directory_until_it_is_closed(tmp_path):
    first = FileCheckpointStore(str(tmp_path))
    with pytest.raises(StateDirectoryBusy) as caught:
        FileCheckpointStore(str(tmp_path))
    assert str(caught.value) == (f"another run is using the state directory {tmp_path}; "
                                 "wait for it to end or use another directory")
    first.close()
    FileCheckpointStore(str(tmp_path)).close()


def test_a_process_killed_between_writing_and_renaming_leaves_the_old_state_and_no_litter(tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    store.save("in.auditevents", json.dumps({"cursor": "old"}))
    store.close()
    # a child saves the next state and is killed (os._exit) just before the rename
    child = subprocess.run([sys.executable, "-c", (
        "import os, sys; sys.path.insert(0, sys.argv[1])\n"
        "from onepassword_events.checkpoint import FileCheckpointStore\n"
        "store = FileCheckpointStore(sys.argv[2])\n"
        "os.replace = lambda *args: os._exit(9)\n"
        "store.save('in.auditevents', '{\"cursor\": \"new\"}')\n"), BIN, str(tmp_path)])
    assert child.returncode == 9 and len(list(tmp_path.iterdir())) == 3  # the lock, the state, the temporary
    store = FileCheckpointStore(str(tmp_path))
    assert store.get("in.auditevents") == {"cursor": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "in.auditevents.json"]
    store.close()


def test_only_our_temporaries_are_removed_on_open(tmp_path):
    for name in (".tmp-abc.json", ".tmp-x.txt", "tmp-abc.json", "in.signinattempts.json"):
        (tmp_path / name).write_text("{}")
    FileCheckpointStore(str(tmp_path)).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", ".tmp-x.txt", "in.signinattempts.json",
                                                          "tmp-abc.json"]


def test_a_key_never_names_a_file_outside_the_directory(tmp_path):
    store = FileCheckpointStore(str(tmp_path / "state"))
    store.save("../in put/x.signinattempts", json.dumps({"cursor": "c"}))
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [".._in_put_x.signinattempts.json", ".lock"]
    assert store.get("../in put/x.signinattempts") == {"cursor": "c"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]


def test_save_replaces_get_reads_and_delete_forgets(tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    assert store.get("in.auditevents") is None
    store.save("in.auditevents", json.dumps({"cursor": "one"}))
    store.save("in.auditevents", json.dumps({"cursor": "two", "newest_second": 5}))
    assert store.get("in.auditevents") == {"cursor": "two", "newest_second": 5}
    store.delete("in.auditevents")
    store.delete("in.auditevents")  # already gone: nothing to do
    assert store.get("in.auditevents") is None and sorted(p.name for p in tmp_path.iterdir()) == [".lock"]


def test_a_save_that_fails_leaves_the_old_state_and_no_temporary(tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    store.save("in.auditevents", json.dumps({"cursor": "old"}))
    with pytest.raises((TypeError, AttributeError)):  # a state that is not text cannot be written
        store.save("in.auditevents", {"cursor": "not text"})
    assert store.get("in.auditevents") == {"cursor": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "in.auditevents.json"]


@pytest.mark.parametrize("content, why", [
    (b"{bad", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b"\xff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (b"[1]", "not a JSON object"),
    (b"[" * 100_000, "maximum recursion depth exceeded while decoding a JSON array from a unicode string"),
], ids=["not JSON", "not UTF-8", "not an object", "nested too deep"])
def test_an_unreadable_checkpoint_file_says_how_to_start_again(tmp_path, content, why):
    store = FileCheckpointStore(str(tmp_path))
    (tmp_path / "in.auditevents.json").write_bytes(content)
    with pytest.raises(CheckpointError) as caught:
        store.get("in.auditevents")
    assert str(caught.value) == (f"checkpoint file {tmp_path / 'in.auditevents.json'} is unreadable ({why}); "
                                 "delete it to start again from the start time")
    assert caught.value.category == "checkpoint"


def test_a_checkpoint_planted_as_a_symlink_is_not_followed(tmp_path):
    store = FileCheckpointStore(str(tmp_path / "state"))
    (tmp_path / "elsewhere.json").write_text('{"cursor": "planted"}')
    os.symlink(tmp_path / "elsewhere.json", tmp_path / "state" / "in.auditevents.json")
    with pytest.raises(CheckpointError) as caught:
        store.get("in.auditevents")
    assert str(caught.value) == (f"checkpoint file {tmp_path / 'state' / 'in.auditevents.json'} cannot be read "
                                 "(Too many levels of symbolic links); delete it to start again from the start time")


def test_a_checkpoint_file_larger_than_any_we_write_is_refused_unread(tmp_path):
    store = FileCheckpointStore(str(tmp_path))
    head = b'{"cursor": "c", "pad": "'
    at_limit = head + b"x" * (MAX_CHECKPOINT_BYTES - len(head) - 2) + b'"}'
    (tmp_path / "in.auditevents.json").write_bytes(at_limit)
    assert store.get("in.auditevents")["cursor"] == "c"
    (tmp_path / "in.auditevents.json").write_bytes(at_limit + b" ")
    with pytest.raises(CheckpointError, match=r"is unreadable \(larger than 8388608 bytes\)"):
        store.get("in.auditevents")


@pytest.mark.parametrize("field, limit", [("account", 200), ("host", 300), ("cursor", 8192), ("newest_time", 64)])
def test_a_planted_text_field_too_long_or_not_printable_reads_as_unknown(tmp_path, field, limit):
    store = FileCheckpointStore(str(tmp_path))
    for value, kept in [("a" * limit, True), ("a" * (limit + 1), False), ("ok\nevent=forged", False),
                        ("caf\u00e9", False), (" ~", True), (42, False), (["a"], False), (None, True)]:
        store.save("in.auditevents", json.dumps({field: value, "newest_second": 7, "recent": [[7, "U"]]}))
        state = store.get("in.auditevents")
        assert state == {field: value if kept else None, "newest_second": 7, "recent": [[7, "U"]]}, value


def test_the_memory_store_keeps_states_for_the_process():
    store = MemoryCheckpointStore()
    assert store.get("in.auditevents") is None
    store.save("in.auditevents", json.dumps({"cursor": "c"}))
    assert store.get("in.auditevents") == {"cursor": "c"} and store.get("in.itemusages") is None
    store.delete("in.auditevents")
    store.delete("in.auditevents")
    assert store.get("in.auditevents") is None
    store.close()


# -- the KV store's failures -------------------------------------------------------------------
def test_a_kvstore_that_keeps_failing_names_the_operation_and_status(splunkd, monkeypatch):
    import solnlib.utils

    monkeypatch.setattr(solnlib.utils.time, "sleep", lambda seconds: None)  # solnlib's backoff between tries
    store = SplunkEdge(splunkd.session_key).checkpoint_store()
    store.save("a.signinattempts", json.dumps({"cursor": "c"}))
    for operation, call in [("read", lambda: store.get("a.signinattempts")),
                            ("write", lambda: store.save("a.signinattempts", "{}")),
                            ("delete from", lambda: store.delete("a.signinattempts"))]:
        splunkd.fail_kvstore(times=4, status=500)  # solnlib's first try and its 3 retries
        with pytest.raises(CheckpointError) as caught:
            call()
        assert str(caught.value) == (f"could not {operation} the KV store collection {CHECKPOINT_COLLECTION} "
                                     "(HTTPError HTTP 500); check the KV store status in splunkd.log")
        assert caught.value.category == "checkpoint"
    assert splunkd.kv_states() == {"a.signinattempts": {"cursor": "c"}}
    splunkd.stop()  # splunkd is down when the next run opens its checkpoints
    with pytest.raises(CheckpointError) as caught:
        SplunkEdge(splunkd.session_key).checkpoint_store()
    assert str(caught.value) == (f"could not open the KV store collection {CHECKPOINT_COLLECTION} "
                                 "(ConnectionError); check the KV store status in splunkd.log")


def test_a_kvstore_checkpoint_that_is_not_json_says_how_to_start_again(splunkd):
    store = SplunkEdge(splunkd.session_key).checkpoint_store()
    for text in ("{not json", "[" * 100_000):
        splunkd.kv_put("a.signinattempts", {"state": json.dumps(text)})
        with pytest.raises(CheckpointError) as caught:
            store.get("a.signinattempts")
        assert str(caught.value) == (f"the checkpoint a.signinattempts in {CHECKPOINT_COLLECTION} is not valid JSON; "
                                     "delete the input's checkpoints (recreate the input) to start again")
