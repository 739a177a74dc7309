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
from urllib.parse import quote

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

    Written whole to a spare file and renamed over the old one, so a killed
    process leaves either the old or the new state, never half of one. Not
    fsynced: that guards against power loss, not crashes, and would cost a
    disk flush per page.

    A save reuses the file it replaces as the spare of the next save instead
    of creating one: creating a file costs ext4 about 0.1 ms of CPU, more
    than the rest of a page request over loopback. See `_SpareFiles`.

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
        # a process killed between writing and renaming leaves its spare and temporary files
        for name in os.listdir(directory):
            if name.startswith(TEMPORARY_PREFIX) and name.endswith(".json"):
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    pass
        self._spares = _SpareFiles()

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
        try:
            self._spares.replace(path, state_json.encode("utf-8"))
        except OSError as exc:  # a full disk, no descriptor left: the run stops, as it would for the KV store
            raise CheckpointError(
                f"checkpoint file {path} cannot be written ({_reason(exc)}); make room or fix the state "
                "directory: the next run starts again from the last checkpoint saved"
            ) from None

    def delete(self, key):
        path = self._path(key)
        self._spares.forget(path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def close(self):
        self._spares.close()
        self._lock.close()  # releases the lock


TEMPORARY_PREFIX = ".tmp-"


class _SpareFiles:
    """Replaces a file's content atomically without creating a file per save.

    Per checkpoint file F, from its second save on, this process holds two
    open inodes: the one F names (the state in force) and a spare named
    `.tmp-F`. A save:

    1. writes the new state whole into the spare (F is untouched);
    2. links F's inode under a second name, `.tmp-~F`;
    3. renames the spare over F: F names the new state, atomically, and its
       old inode lives on under `.tmp-~F`;
    4. renames `.tmp-~F` to `.tmp-F`: the old state's inode is the next spare.

    Killed at any step, F names a whole state (the old one up to step 3, the
    new one after it), and only `.tmp-` names hold anything else; they are
    never read and are removed when the store next opens. A name made from a
    key holds only word characters, '.' and '-', so `.tmp-~F` is never
    another key's spare. The spare's name must still be the inode written in
    step 1 (F may have been replaced by hand since the last save): if not, or
    where hard links are refused, the save creates its spare, as the first
    save of a file does. Windows cannot rename a file held open: there every
    save creates its spare and nothing is held.
    """

    def __init__(self):
        self._held = {}  # path of F -> _Held

    def replace(self, path, data):
        spare = self._temporary(path, "")
        if not _LINKS:
            _write_new(spare, data)
            os.replace(spare, path)
            return
        held = self._held.pop(path, None)
        fd = None
        try:
            if held is not None and held.spare_fd is not None and _names(spare, held.spare_inode):
                fd, inode = held.spare_fd, held.spare_inode
                held.spare_fd = None
            else:
                if held is not None:
                    held.close_spare()
                    _unlink_quietly(spare)
                fd = _create(spare)
                inode = os.fstat(fd).st_ino
            _write_whole(fd, data)
            if held is not None and self._link(path):
                os.replace(spare, path)
                os.replace(self._temporary(path, "~"), spare)
                self._held[path] = _Held(fd, inode, held.fd, held.inode)
            else:
                os.replace(spare, path)
                if held is not None:
                    held.close()
                self._held[path] = _Held(fd, inode, None, None)
        except BaseException:
            if fd is not None:
                _close_quietly(fd)
            if held is not None:
                held.close()
            _unlink_quietly(spare)
            _unlink_quietly(self._temporary(path, "~"))
            raise

    def _link(self, path):
        """Step 2: F's inode under its second name; False where links are refused."""
        aside = self._temporary(path, "~")
        try:
            os.link(path, aside)
            return True
        except FileExistsError:  # left by a save of this process that failed
            os.unlink(aside)
            os.link(path, aside)
            return True
        except OSError:  # no hard links here, or F deleted by hand: a plain replace
            return False

    def forget(self, path):
        """Drop what is held for `path` (when its file is deleted)."""
        held = self._held.pop(path, None)
        if held is not None:
            if held.spare_fd is not None:
                _unlink_quietly(self._temporary(path, ""))
            held.close()

    def close(self):
        for path in list(self._held):
            self.forget(path)

    @staticmethod
    def _temporary(path, mark):
        directory, name = os.path.split(path)
        return os.path.join(directory, TEMPORARY_PREFIX + mark + name)


class _Held:
    """The open inodes of one checkpoint file: the one it names, and the spare's."""

    __slots__ = ("fd", "inode", "spare_fd", "spare_inode")

    def __init__(self, fd, inode, spare_fd, spare_inode):
        self.fd, self.inode, self.spare_fd, self.spare_inode = fd, inode, spare_fd, spare_inode

    def close_spare(self):
        if self.spare_fd is not None:
            _close_quietly(self.spare_fd)
            self.spare_fd = None

    def close(self):
        self.close_spare()
        if self.fd is not None:
            _close_quietly(self.fd)
            self.fd = None


def _create(name):
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    try:
        return os.open(name, flags, 0o600)
    except FileExistsError:  # left by a save of this process that failed
        os.unlink(name)
        return os.open(name, flags, 0o600)


def _names(name, inode):
    """Whether `name` is (still) the inode `inode`."""
    try:
        return os.stat(name, follow_symlinks=False).st_ino == inode
    except OSError:
        return False


def _write_new(name, data):
    """A new file `name` holding `data`."""
    fd = _create(name)
    try:
        _write_whole(fd, data)
    finally:
        os.close(fd)


def _write_whole(fd, data):
    """`data` as the whole content of the file open at `fd`."""
    view = memoryview(data)
    offset = 0
    while offset < len(view):
        offset += os.pwrite(fd, view[offset:], offset) if _PWRITE else _write_at(fd, view[offset:], offset)
    os.ftruncate(fd, offset)


def _write_at(fd, data, offset):
    os.lseek(fd, offset, os.SEEK_SET)
    return os.write(fd, data)


def _close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _unlink_quietly(name):
    try:
        os.unlink(name)
    except OSError:
        pass


# Checkpoint files are small (a cursor, a few times, the UUIDs of one second);
# anything much larger was not written by us.
MAX_CHECKPOINT_BYTES = 8 * 1024 * 1024
# A state's text fields, with the longest value the collector ever writes.
_STATE_TEXT_LIMITS = {"account": 200, "host": 300, "cursor": 8192, "newest_time": 64}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_PWRITE = hasattr(os, "pwrite")
# Windows cannot rename a file that is held open: there, every save creates its spare
_LINKS = hasattr(os, "link") and os.name != "nt"
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
    """The add-on's KV store collection (inside Splunk), in the record format of solnlib's
    KVStoreCheckpointer: {"_key": key, "state": json.dumps(what was saved)}.

    splunkd: the edge's connection (onepassword_splunkd.Splunkd). Every failure of the KV
    store (not ready, unreachable, refusing a write) becomes a CheckpointError naming the
    collection and the operation.
    """

    def __init__(self, collection, splunkd):
        self._collection = collection
        self._splunkd = splunkd
        self._data = "storage/collections/data/" + quote(collection, safe="")
        self._kv_call("open", self._open)

    def _open(self):
        """collections.conf declares the collection; create it when splunkd lacks it all the same,
        or every run would collect from the start and fail at its first save."""
        config = "storage/collections/config/"
        absent = object()
        if self._splunkd.request("GET", config + quote(self._collection, safe=""), missing=absent) is absent:
            self._splunkd.request("POST", config, form={"name": self._collection, "field.state": "string"})

    def get(self, key):
        record = self._kv_call("read", lambda: self._splunkd.request("GET", self._record_path(key), missing=None))
        if record is None:
            return None
        try:
            state = json.loads(record["state"])
            if isinstance(state, str):  # saved as JSON text; older versions saved the object itself
                state = json.loads(state)
        except (ValueError, RecursionError, TypeError, KeyError):
            raise CheckpointError(f"the checkpoint {key} in {self._collection} is not valid JSON; "
                                  "delete the input's checkpoints (recreate the input) to start again") from None
        return state

    def save(self, key, state_json):
        # the state is kept as a JSON string of the JSON text, as solnlib's checkpointer stored it
        record = {"_key": key, "state": json.dumps(state_json)}
        self._kv_call("write", lambda: self._splunkd.request("POST", f"{self._data}/batch_save", body=[record]))

    def delete(self, key):
        # a record already gone (404) counts as deleted
        self._kv_call("delete from", lambda: self._splunkd.request("DELETE", self._record_path(key), missing=None))

    def _record_path(self, key):
        return f"{self._data}/{quote(key, safe='')}"

    def close(self):
        pass

    def _kv_call(self, operation, call):
        try:
            return call()
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - the connection's errors and JSON errors alike
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise CheckpointError(
                f"could not {operation} the KV store collection {self._collection} "
                f"({reason}); check the KV store status in splunkd.log"
            ) from None


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
