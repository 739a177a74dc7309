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
    import onepassword_splunkd

    monkeypatch.setattr(onepassword_splunkd, "RETRY_WAITS", (0, 0, 0))
    store = SplunkEdge(splunkd.session_key).checkpoint_store()
    store.save("a.signinattempts", json.dumps({"cursor": "c"}))
    for operation, call in [("read", lambda: store.get("a.signinattempts")),
                            ("write", lambda: store.save("a.signinattempts", "{}")),
                            ("delete from", lambda: store.delete("a.signinattempts"))]:
        splunkd.fail_kvstore(times=4, status=500)  # the first try and its 3 retries
        with pytest.raises(CheckpointError) as caught:
            call()
        assert str(caught.value) == (f"could not {operation} the KV store collection {CHECKPOINT_COLLECTION} "
                                     "(HTTP 500); check the KV store status in splunkd.log")
        assert caught.value.category == "checkpoint"
    assert splunkd.kv_states() == {"a.signinattempts": {"cursor": "c"}}
    splunkd.stop()  # splunkd is down when the next run opens its checkpoints
    with pytest.raises(CheckpointError) as caught:
        SplunkEdge(splunkd.session_key).checkpoint_store()
    assert str(caught.value) == (f"could not open the KV store collection {CHECKPOINT_COLLECTION} "
                                 "(connection refused); check the KV store status in splunkd.log")


def test_a_kvstore_checkpoint_that_is_not_json_says_how_to_start_again(splunkd):
    store = SplunkEdge(splunkd.session_key).checkpoint_store()
    for text in ("{not json", "[" * 100_000):
        splunkd.kv_put("a.signinattempts", {"state": json.dumps(text)})
        with pytest.raises(CheckpointError) as caught:
            store.get("a.signinattempts")
        assert str(caught.value) == (f"the checkpoint a.signinattempts in {CHECKPOINT_COLLECTION} is not valid JSON; "
                                     "delete the input's checkpoints (recreate the input) to start again")


# -- the file store's spare files: reused, never leaked, never followed, and a failed save ------
import errno  # noqa: E402

KEY = "in.auditevents"
STATE_FILE = KEY + ".json"
SPARE = ".tmp-" + STATE_FILE


def _open_descriptors(directory):
    """This process's descriptors of files in `directory` (deleted ones too): counting every
    descriptor would count the sockets other tests left for the garbage collector to close."""
    inside = os.path.realpath(directory) + os.sep
    held = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            held += os.readlink(os.path.join("/proc/self/fd", fd)).startswith(inside)
        except OSError:  # closed meanwhile (the listing's own descriptor among them)
            pass
    return held


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")


def _cursor_in(path):
    return json.loads(path.read_text())["cursor"]


def test_saves_write_into_the_file_the_previous_save_replaced(tmp_path, no_umask):
    """From the second save on, a save creates no file: the state file's inode alternates
    between two (each kept open here, so the kernel cannot hand its number to a new file),
    every state file is private whatever the umask, and the spare is the one extra file."""
    store = FileCheckpointStore(str(tmp_path))
    path = tmp_path / STATE_FILE
    kept, inodes = [], []
    try:
        for n in range(1, 8):
            store.save(KEY, _state(n, size=(n * 53) % 90))
            assert store.get(KEY)["cursor"] == "c%d" % n
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            kept.append(os.open(path, os.O_RDONLY))
            inodes.append(os.fstat(kept[-1]).st_ino)
        assert inodes[0] != inodes[1]
        assert inodes == [inodes[0], inodes[1]] * 3 + [inodes[0]]
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", SPARE, STATE_FILE]
    finally:
        for fd in kept:
            os.close(fd)
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", STATE_FILE]


@needs_proc
@pytest.mark.parametrize("links", [True, False], ids=["hard links", "hard links refused"])
def test_a_store_holds_at_most_two_descriptors_per_file_and_closing_releases_them(tmp_path, monkeypatch, links):
    if not links:
        monkeypatch.setattr("os.link", lambda *args: _raise(OSError(errno.EPERM, "Operation not permitted")))
    before = _open_descriptors(tmp_path)
    store = FileCheckpointStore(str(tmp_path))
    keys = ["in.auditevents", "in.itemusages", "in.signinattempts"]
    for n in range(1, 12):
        for key in keys:
            store.save(key, _state(n))
        assert _open_descriptors(tmp_path) <= before + 1 + 2 * len(keys)  # the lock, then the state and its spare
    held = _open_descriptors(tmp_path)
    store.delete("in.itemusages")
    assert _open_descriptors(tmp_path) <= held - (2 if links else 1)
    store.close()
    assert _open_descriptors(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "in.auditevents.json", "in.signinattempts.json"]


def _raise(error):
    raise error


_FAILURES = {
    "disk full": ("pwrite", OSError(errno.ENOSPC, "No space left on device")),
    "no descriptor left": ("open", OSError(errno.EMFILE, "Too many open files")),
    "rename fails": ("replace", OSError(errno.EIO, "Input/output error")),
    "Ctrl-C before the rename": ("replace", KeyboardInterrupt()),
}


@needs_proc
@pytest.mark.parametrize("failure, saved_before", [
    (failure, saved_before) for failure in _FAILURES for saved_before in range(4)
    # a save opens a file only while it has no spare (its first two)
    if not (failure == "no descriptor left" and saved_before >= 2)
])
def test_a_failed_save_keeps_the_old_state_leaves_no_file_or_descriptor_and_the_next_save_lands(
        tmp_path, monkeypatch, failure, saved_before):
    call, error = _FAILURES[failure]
    before = _open_descriptors(tmp_path)
    store = FileCheckpointStore(str(tmp_path))
    for n in range(1, saved_before + 1):
        store.save(KEY, _state(n))
    with monkeypatch.context() as failing:
        failing.setattr(os, call, lambda *args, **kwargs: _raise(error))
        with pytest.raises(type(error) if isinstance(error, KeyboardInterrupt) else CheckpointError) as caught:
            store.save(KEY, _state(99))
    if isinstance(error, OSError):
        assert str(caught.value) == (
            f"checkpoint file {tmp_path / STATE_FILE} cannot be written ({error.strerror}); make room or fix "
            "the state directory: the next run starts again from the last checkpoint saved")
        assert caught.value.category == "checkpoint"
    assert store.get(KEY) == (json.loads(_state(saved_before)) if saved_before else None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"] + ([STATE_FILE] if saved_before else [])
    assert _open_descriptors(tmp_path) == before + 1  # the lock only
    for n in (100, 101, 102):
        store.save(KEY, _state(n))
        assert _cursor_in(tmp_path / STATE_FILE) == "c%d" % n
    store.close()
    assert _open_descriptors(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", STATE_FILE]


def test_a_state_written_in_pieces_is_written_whole(tmp_path, monkeypatch):
    """POSIX lets a write write less than it was given: the save writes the rest."""
    real_pwrite, calls = os.pwrite, []

    def in_pieces(fd, data, offset):
        calls.append(offset)
        assert len(calls) < 200, "the save keeps writing the same piece"
        return real_pwrite(fd, bytes(data[:4096]), offset)

    monkeypatch.setattr(os, "pwrite", in_pieces)
    store = FileCheckpointStore(str(tmp_path))
    for n, size in enumerate([400, 30, 800, 2], start=1):
        store.save(KEY, _state(n, size=size))
        assert (tmp_path / STATE_FILE).read_text() == _state(n, size=size)
    assert calls[:3] == [0, 4096, 8192]


def test_a_spare_planted_as_a_symlink_is_not_followed(tmp_path, no_umask):
    store = FileCheckpointStore(str(tmp_path / "state"))
    victim = tmp_path / "victim"
    victim.write_text("not yours")
    os.symlink(victim, tmp_path / "state" / SPARE)
    store.save(KEY, _state(1))
    path = tmp_path / "state" / STATE_FILE
    assert victim.read_text() == "not yours"
    assert not path.is_symlink() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.get(KEY)["cursor"] == "c1"


def test_a_spare_swapped_for_a_symlink_is_not_renamed_over_the_state(tmp_path):
    """Someone moves the spare away and leaves a symlink to it in its place: the next save
    neither writes through the link nor makes the state file a link."""
    store = FileCheckpointStore(str(tmp_path / "state"))
    for n in (1, 2):
        store.save(KEY, _state(n))
    moved = tmp_path / "moved"
    os.replace(tmp_path / "state" / SPARE, moved)
    os.symlink(moved, tmp_path / "state" / SPARE)
    store.save(KEY, _state(3))
    assert not (tmp_path / "state" / STATE_FILE).is_symlink()
    assert store.get(KEY)["cursor"] == "c3" and _cursor_in(moved) == "c1"
    store.save(KEY, _state(4))
    assert store.get(KEY)["cursor"] == "c4" and _cursor_in(moved) == "c1"


@needs_proc
@pytest.mark.parametrize("removed", [[SPARE], [SPARE, STATE_FILE], [STATE_FILE]],
                         ids=["the spare", "the spare and the state", "the state"])
def test_files_deleted_by_hand_while_a_run_goes_on_do_not_stop_its_saves(tmp_path, removed):
    before = _open_descriptors(tmp_path)
    store = FileCheckpointStore(str(tmp_path))
    for n in (1, 2):
        store.save(KEY, _state(n))
    for name in removed:
        (tmp_path / name).unlink()
    for n in (3, 4, 5):
        store.save(KEY, _state(n))
        assert store.get(KEY)["cursor"] == "c%d" % n
    store.close()
    assert _open_descriptors(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", STATE_FILE]


def test_a_second_name_left_in_the_way_of_a_save_is_replaced(tmp_path):
    """A save first gives the state file a second name (`.tmp-~` and its name); one already
    there (a save whose clean-up failed) is replaced, and none is left once the store is closed."""
    store = FileCheckpointStore(str(tmp_path))
    for n in (1, 2):
        store.save(KEY, _state(n))
    (tmp_path / (".tmp-~" + STATE_FILE)).write_text("left over")
    for n in (3, 4):
        store.save(KEY, _state(n))
        assert store.get(KEY)["cursor"] == "c%d" % n
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", SPARE, STATE_FILE]
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", STATE_FILE]
