"""Checkpoint stores: one state per input x stream.

A state is a small JSON object: the cursor to continue from, the newest event
time written and the UUIDs written at that second (to recover from an expired
cursor without gap or duplicate), plus the account and host the cursor belongs
to. It never holds the token.
"""

import json
import os
import re
import tempfile


class CheckpointError(Exception):
    pass


def checkpoint_key(input_name, stream_name):
    return f"{input_name}.{stream_name}"


class FileCheckpointStore:
    """Atomic JSON files in a directory (CLI, tests, benchmark).

    Written to a temporary file and renamed over the old one, so a killed
    process leaves either the old or the new state, never half of one (one
    process per directory: opening the store removes stale temporaries). Not
    fsynced: that guards against power loss, not crashes, and would cost a
    disk flush per page.
    """

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
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
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise CheckpointError(
                f"checkpoint file {path} is unreadable ({exc}); delete it to start again from the start time"
            ) from None

    def save(self, key, state):
        path = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                # dumps, not dump: json.dump streams through the pure-Python encoder
                handle.write(json.dumps(state, separators=(",", ":")))
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


class KVStoreCheckpointStore:
    """The add-on's KV store collection, through solnlib (inside Splunk)."""

    def __init__(self, collection, session_key, app):
        from solnlib.modular_input.checkpointer import KVStoreCheckpointer

        self._kv = KVStoreCheckpointer(collection, session_key, app)

    def get(self, key):
        return self._kv.get(key)

    def save(self, key, state):
        self._kv.update(key, state)

    def delete(self, key):
        self._kv.delete(key)


class MemoryCheckpointStore:
    """State kept for one process only (the CLI without --state-dir)."""

    def __init__(self):
        self.states = {}

    def get(self, key):
        state = self.states.get(key)
        return json.loads(state) if state is not None else None

    def save(self, key, state):
        self.states[key] = json.dumps(state)

    def delete(self, key):
        self.states.pop(key, None)
