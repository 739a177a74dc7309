"""Checkpoint stores: one state per input x stream.

A state is a small JSON object: the cursor to continue from, the newest event
time written and the UUIDs written at that second (to recover from an expired
cursor without gap or duplicate), plus the account and host the cursor belongs
to. It never holds the token. Stores take it as JSON text (the collector
encodes it, reusing what it encoded before) and give it back decoded.
"""

import json
import os
import re
import tempfile

from .errors import CollectorError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

LOCK_FILE = ".lock"


class CheckpointError(CollectorError):
    """The checkpoint store cannot be read or written: the run stops, since
    events written without their checkpoint would be written again."""

    category = "checkpoint"


class StateDirectoryError(CheckpointError):
    """The state directory cannot be used: a setting to fix, not a failure of a run."""

    category = "configuration"


class StateDirectoryBusy(StateDirectoryError):
    """Another process holds the state directory."""


def checkpoint_key(input_name, stream_name):
    return f"{input_name}.{stream_name}"


class FileCheckpointStore:
    """Atomic JSON files in a directory (CLI, tests, benchmark).

    Written to a temporary file and renamed over the old one, so a killed
    process leaves either the old or the new state, never half of one. Not
    fsynced: that guards against power loss, not crashes, and would cost a
    disk flush per page.

    One writer per directory: opening the store takes an exclusive lock on it
    (released when the process ends, however it ends), so two runs never page
    the same cursors at once and write the same events twice.
    """

    def __init__(self, directory):
        self.directory = directory
        try:
            _make_private_directory(directory)
            self._lock = _open_lock(os.path.join(directory, LOCK_FILE))
        except OSError as exc:
            raise StateDirectoryError(
                f"the state directory {directory} cannot be used ({exc.strerror or type(exc).__name__}); "
                "choose a directory you can write to"
            ) from None
        if not _try_lock(self._lock):
            self._lock.close()
            raise StateDirectoryBusy(
                f"another run is using the state directory {directory}; wait for it to end or use another directory"
            )
        # a process killed between writing and renaming leaves its temporary file
        for name in os.listdir(directory):
            if name.startswith(".tmp-") and name.endswith(".json"):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    pass

    def _path(self, key):
        return os.path.join(self.directory, re.sub(r"[^\w.-]", "_", key) + ".json")

    def get(self, key):
        path = self._path(key)
        try:
            # a checkpoint planted as a symlink is not followed (ELOOP), one planted as
            # a huge file is not read whole
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                text = handle.read(MAX_CHECKPOINT_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CheckpointError(
                f"checkpoint file {path} cannot be read ({_reason(exc)}); delete it to start again from the "
                "start time"
            ) from None
        try:
            if len(text) > MAX_CHECKPOINT_BYTES:
                raise ValueError(f"larger than {MAX_CHECKPOINT_BYTES} bytes")
            return sanitised_state(json.loads(text.decode("utf-8")))
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than the parser goes
            raise CheckpointError(
                f"checkpoint file {path} is unreadable ({str(exc)[:200]}); delete it to start again from the "
                "start time"
            ) from None

    def save(self, key, state_json):
        path = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(state_json)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def delete(self, key):
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def close(self):
        self._lock.close()  # releases the lock


# Checkpoint files are small (a cursor, a few times, the UUIDs of one second);
# anything much larger was not written by us.
MAX_CHECKPOINT_BYTES = 8 * 1024 * 1024
# A state's text fields, with the longest value the collector ever writes.
_STATE_TEXT_LIMITS = {"account": 200, "host": 300, "cursor": 8192, "newest_time": 64}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def sanitised_state(state):
    """A state read from a file the user (or someone else) may have written: a text
    field that is not printable ASCII of a sane length becomes None, so the collector
    treats the state as another account's and never logs or sends the raw value."""
    if not isinstance(state, dict):
        raise ValueError("not a JSON object")
    clean = dict(state)
    for field, limit in _STATE_TEXT_LIMITS.items():
        value = clean.get(field)
        if value is not None and not (isinstance(value, str) and len(value) <= limit
                                      and _PRINTABLE.fullmatch(value)):
            clean[field] = None
    return clean


def _make_private_directory(directory):
    """Create the state directory 0700 whatever the umask, or accept an existing one
    only if it is ours and nobody else may write to it: whoever can write there can
    plant the lock, a checkpoint or a temporary file."""
    try:
        os.mkdir(directory, 0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(os.path.dirname(os.path.abspath(directory)), exist_ok=True)
        return _make_private_directory(directory)
    info = os.stat(directory)
    if not hasattr(os, "geteuid"):  # Windows: ACLs, not modes, guard the directory
        return
    if info.st_uid != os.geteuid():
        raise StateDirectoryError(
            f"the state directory {directory} belongs to another user (uid {info.st_uid}); "
            "use a directory of your own"
        )
    if info.st_mode & 0o022:
        raise StateDirectoryError(
            f"the state directory {directory} is writable by other users (mode {info.st_mode & 0o777:o}); "
            f"run chmod 700 {directory} or use a directory of your own"
        )


def _open_lock(path):
    """The lock file, created 0600 if missing, never through a symlink."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            raise StateDirectoryError(
                f"the lock file {path} is a symbolic link, which is not followed; remove it, or use a "
                "directory of your own"
            ) from None
        raise
    return os.fdopen(fd, "a+")


def _reason(exc):
    return exc.strerror or type(exc).__name__


def _try_lock(handle):
    try:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


class KVStoreCheckpointStore:
    """The add-on's KV store collection, through solnlib (inside Splunk).

    Every failure of the KV store (not ready, unreachable, refusing a write)
    becomes a CheckpointError naming the collection and the operation.
    """

    def __init__(self, collection, session_key, app):
        self._collection = collection
        self._kv = self._kv_call("open", lambda: _kv_checkpointer(collection, session_key, app))

    def get(self, key):
        state = self._kv_call("read", lambda: self._kv.get(key))
        if isinstance(state, str):  # saved as JSON text; older versions saved the object itself
            try:
                state = json.loads(state)
            except (ValueError, RecursionError):
                raise CheckpointError(f"the checkpoint {key} in {self._collection} is not valid JSON; "
                                      "delete the input's checkpoints (recreate the input) to start again") from None
        return state

    def save(self, key, state_json):
        # solnlib stores json.dumps(value): the text is kept as a JSON string
        self._kv_call("write", lambda: self._kv.update(key, state_json))

    def delete(self, key):
        self._kv_call("delete from", lambda: self._kv.delete(key))

    def close(self):
        pass

    def _kv_call(self, operation, call):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - splunklib, solnlib, socket and JSON errors alike
            status = getattr(exc, "status", None)
            raise CheckpointError(
                f"could not {operation} the KV store collection {self._collection} "
                f"({type(exc).__name__}{f' HTTP {status}' if status else ''}); check the KV store status in splunkd.log"
            ) from None


def _kv_checkpointer(collection, session_key, app):
    from solnlib.modular_input.checkpointer import KVStoreCheckpointer

    return KVStoreCheckpointer(collection, session_key, app)


class MemoryCheckpointStore:
    """State kept for one process only (the CLI without --state-dir)."""

    def __init__(self):
        self.states = {}

    def get(self, key):
        state = self.states.get(key)
        return json.loads(state) if state is not None else None

    def save(self, key, state_json):
        self.states[key] = state_json

    def delete(self, key):
        self.states.pop(key, None)

    def close(self):
        pass
