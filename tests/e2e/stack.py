"""The docker side of the e2e suite: is there an engine, is the stack up, and the few
things the tests do inside the containers (read the simulator's files, append a log file
where splunkd reads its own logs).

Every command goes through one `runner` (subprocess.run by default) so the command lines
and the decisions are unit-tested without Docker (tests/e2e_helpers).
"""

import json
import shutil
import subprocess

SKIP_PREFIX = "dockerized Splunk suite skipped: "
SKIP_SUFFIX = "; run ./run_e2e.sh where Docker runs"


class StackError(RuntimeError):
    pass


def skip_line(reason):
    """The one line the suite prints when it cannot run."""
    return SKIP_PREFIX + reason + SKIP_SUFFIX


def _first_line(text, limit=200):
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line[:limit]
    return "no output"


def parse_compose_ps(text):
    """Containers of `docker compose ps --format json`: newer Compose prints one JSON object
    per line, older 2.x one JSON array. Returns a list of dicts."""
    text = (text or "").strip()
    if not text:
        return []
    if text.startswith("["):
        value = json.loads(text)
        return [item for item in value if isinstance(item, dict)]
    containers = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            item = json.loads(line)
            if isinstance(item, dict):
                containers.append(item)
    return containers


PROJECT = "ta-1password-events-e2e"  # run_e2e.sh's `docker compose -p`


class Stack:
    def __init__(self, compose_file, docker="docker", runner=subprocess.run, which=shutil.which, timeout=60):
        self.compose_file = compose_file
        self.docker = docker
        self.runner = runner
        self.which = which
        self.timeout = timeout

    # -- commands ---------------------------------------------------------------
    def compose(self, *args):
        return [self.docker, "compose", "-f", self.compose_file, "-p", PROJECT] + list(args)

    def _run(self, command, stdin=None, timeout=None):
        return self.runner(command, input=stdin, capture_output=True, text=True, encoding="utf-8", errors="replace",
                           timeout=timeout or self.timeout,
                           check=False)

    # -- can the suite run? ---------------------------------------------------------
    def unavailable_reason(self, service="splunk"):
        """None when the stack is up and its Splunk container healthy; otherwise why not
        (one short clause, for skip_line)."""
        if self.which(self.docker) is None:
            return "no '%s' command on PATH" % self.docker
        try:
            info = self._run([self.docker, "info", "--format", "{{.ServerVersion}}"], timeout=30)
        except subprocess.TimeoutExpired:
            return "no Docker engine reachable (docker info timed out)"
        if info.returncode != 0:
            return "no Docker engine reachable (docker info: %s)" % _first_line(info.stderr or info.stdout)
        version = self._run([self.docker, "compose", "version"])
        if version.returncode != 0:
            return "the docker compose plugin is missing (docker compose version: %s)" % _first_line(
                version.stderr or version.stdout)
        ps = self._run(self.compose("ps", "--all", "--format", "json"))
        if ps.returncode != 0:
            return "the e2e stack is not up (docker compose ps: %s)" % _first_line(ps.stderr or ps.stdout)
        try:
            containers = parse_compose_ps(ps.stdout)
        except ValueError:
            return "the e2e stack is not up (unreadable docker compose ps output)"
        mine = [c for c in containers if c.get("Service") == service]
        if not mine:
            return "the e2e stack is not up (no '%s' container)" % service
        state, health = mine[0].get("State", ""), mine[0].get("Health", "")
        if state != "running":
            return "the e2e stack is not up ('%s' container is %s)" % (service, state or "in an unknown state")
        if health and health != "healthy":
            return "the e2e stack is not ready ('%s' container is %s)" % (service, health)
        return None

    # -- inside the containers ------------------------------------------------------------
    def read_file(self, service, path, user=None):
        command = self.compose("exec", "-T")
        if user:
            command += ["-u", user]
        result = self._run(command + [service, "cat", path], timeout=120)
        if result.returncode != 0:
            raise StackError("cannot read %s in %s: %s" % (path, service, _first_line(result.stderr)))
        return result.stdout

    def append_file(self, service, path, text, user=None):
        """Append text to a file in a container (created if absent), as `user`."""
        command = self.compose("exec", "-T")
        if user:
            command += ["-u", user]
        command += [service, "sh", "-c", 'cat >> "$1"', "sh", path]
        result = self._run(command, stdin=text, timeout=120)
        if result.returncode != 0:
            raise StackError("cannot append to %s in %s: %s" % (path, service, _first_line(result.stderr)))
