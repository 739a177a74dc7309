"""1Password's own collector (github.com/1Password/events-api-splunk, in Go) as a benchmark column.

Optional: it runs when a Go toolchain and the collector's source are here, and is skipped
with one line otherwise. Its source is not part of this repository:

    BENCH_GO_SOURCE=/path/to/events-api-splunk   a checkout (its src/ holds go.mod and vendor/)
    BENCH_GO=/path/to/go                          the go command (default: go on PATH)

It is built offline (vendored modules, GOTOOLCHAIN=local) once per source and kept under
the temp directory. When its go.mod asks for a newer patch release of the same Go minor
than the local toolchain (1.24.11 against Debian's 1.24.4), the build copy asks for the
minor only; a toolchain of an older minor is skipped.

What it takes from its surroundings, and what the benchmark gives it:
- its token from splunkd's storage/passwords at the fixed https://localhost:8089: the fake
  splunkd (tests/splunkd_fake) answers HTTPS there; the token starts in the configuration
  file, from which the collector moves it into storage/passwords itself, as it does for a
  configuration written by its versions before 1.5.0;
- the Events API's address from the token's audience: a simulator token whose audience is
  127.0.0.1:<the simulator's port>;
- the simulator's self-signed certificate as a trusted root (SSL_CERT_FILE);
- $SPLUNK_HOME/etc/apps/onepassword_events_api/local/events_reporting.conf (TOML) with the
  page size and the start time.
It never exits by itself: caught up, it sleeps 10 s and polls again. A run ends at its first
empty poll after the whole backlog was served (every page has been written and its cursor
saved by then); its peak RSS is read then, and its CPU time from wait4 after SIGKILL.
"""

import glob
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

SPLUNKD_PORT = 8089
BUILD_DIR = os.path.join(tempfile.gettempdir(), "onepassword-bench-go")
BUILD_TYPE = {"signinattempts": "signinattempts", "itemusages": "itemusages", "auditevents": "auditevents"}
CURSOR_FIELD = {"signinattempts": "SignInCursorFile", "itemusages": "ItemUsageCursorFile",
                "auditevents": "AuditEventsCursorFile"}


class Skipped(Exception):
    """Why the Go column cannot run here, in one line."""


def _go_command():
    go = os.environ.get("BENCH_GO") or shutil.which("go")
    if not go or not os.access(go, os.X_OK):
        raise Skipped("no Go toolchain (go on PATH or BENCH_GO)")
    return go


def _source_dir():
    source = os.environ.get("BENCH_GO_SOURCE")
    if not source:
        raise Skipped("BENCH_GO_SOURCE does not name a checkout of 1Password/events-api-splunk")
    src = os.path.join(source, "src")
    if not os.path.isfile(os.path.join(src, "go.mod")) or not os.path.isdir(os.path.join(src, "vendor")):
        raise Skipped(f"{source} has no src/go.mod with vendored modules")
    return src


def _minor(version):
    match = re.match(r"(?:go)?(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def build(streams):
    """{stream: path of its binary}; raises Skipped with the reason when it cannot be built."""
    go, src = _go_command(), _source_dir()
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=vendor", CGO_ENABLED="0",
               GOCACHE=os.path.join(BUILD_DIR, "gocache"), GOPATH=os.path.join(BUILD_DIR, "gopath"))
    toolchain = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, env=env).stdout.strip()
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(src, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            digest.update(path[len(src):].encode())
            with open(path, "rb") as data:
                digest.update(data.read())
    work = os.path.join(BUILD_DIR, digest.hexdigest()[:16] + "-" + toolchain)
    binaries = {stream: os.path.join(work, "bin", stream) for stream in streams}
    if all(os.path.isfile(path) for path in binaries.values()):
        return binaries
    copy = os.path.join(work, "src")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(src, copy)
    with open(os.path.join(copy, "go.mod")) as mod:
        text = mod.read()
    wanted = re.search(r"^go (\S+)$", text, re.M)
    if wanted:
        if _minor(wanted.group(1)) > _minor(toolchain):
            raise Skipped(f"its go.mod needs Go {wanted.group(1)}, and the toolchain is {toolchain}")
        # a newer patch release of the same minor: ask for the minor (GOTOOLCHAIN=local fetches nothing)
        with open(os.path.join(copy, "go.mod"), "w") as mod:
            mod.write(text.replace(wanted.group(0), "go %d.%d" % _minor(wanted.group(1))))
    for stream, binary in binaries.items():
        result = subprocess.run([go, "build", "-ldflags", f"-X main.EventBuildType={BUILD_TYPE[stream]}",
                                 "-o", binary, "."], cwd=copy, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise Skipped(f"go build failed: {result.stderr.strip().splitlines()[-1:]}")
    return binaries


def port_is_free(port=SPLUNKD_PORT):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def splunkd_for_go(fake_splunkd_class, cert_file, key_file):
    """The fake splunkd on https://127.0.0.1:8089, where the collector looks for it."""
    import ssl

    if not port_is_free():
        raise Skipped(f"port {SPLUNKD_PORT} (where it looks for splunkd) is taken on this machine")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return fake_splunkd_class(port=SPLUNKD_PORT, tls_context=context, app="onepassword_events_api")


def run(binary, simulator, splunkd, stream, limit, backlog, pin_cpu=None, give_up_after=900):
    """Drain `backlog` events of `stream` at page size `limit`: figures as the Python drivers give them.
    A collector that has not drained it within `give_up_after` seconds is killed and the run fails."""
    from simulator.server import make_token

    address = urlsplit(simulator.url)
    token = simulator.add_token(token=make_token(f"{address.hostname}:{address.port}", [stream],
                                                 secret=f"go/{stream}/{limit}/{time.monotonic()}"))
    home = tempfile.mkdtemp(prefix="go-collector-home-")
    try:
        local = os.path.join(home, "etc", "apps", "onepassword_events_api", "local")
        os.makedirs(local)
        os.makedirs(os.path.join(home, "var", "lib"))
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
        with open(os.path.join(local, "events_reporting.conf"), "w") as conf:
            conf.write(f'[Config]\nUrl = ""\nAuthToken = "{token}"\nStartAt = {start}\nLimit = {limit}\n'
                       f'{CURSOR_FIELD[stream]} = "var/lib/{stream}_cursor"\n')
        env = {"SPLUNK_HOME": home, "SSL_CERT_FILE": simulator.cert_file, "PATH": os.environ.get("PATH", "")}
        simulator.clear_log()
        reader = subprocess.Popen(["wc", "-c"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        log = open(os.path.join(home, "stderr.log"), "w+b")  # a file: a full pipe would stall it
        started = time.perf_counter()
        process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=reader.stdin, stderr=log, env=env,
                                   preexec_fn=(lambda: os.sched_setaffinity(0, {pin_cpu}))
                                   if pin_cpu is not None else None)
        reader.stdin.close()
        process.stdin.write((splunkd.session_key + "\n").encode())
        process.stdin.close()
        served, records, ended = 0, [], None
        while ended is None:
            records = [r for r in simulator.stream_requests(stream) if r.status == 200]
            served = sum(r.items for r in records)
            if served >= backlog and records and records[-1].items == 0:
                break
            pid, _, usage = os.wait4(process.pid, os.WNOHANG)  # reaps it only if it ended on its own
            ended = usage if pid else None
            if ended is None and time.perf_counter() - started > give_up_after:
                break  # stuck (it sleeps 30 s after each failed request, forever): killed below, reported as failed
            time.sleep(0.01)
        wall = time.perf_counter() - started
        peak_kb = 0
        if ended is None:
            with open(f"/proc/{process.pid}/status") as status:
                peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
            os.kill(process.pid, signal.SIGKILL)
            _, _, ended = os.wait4(process.pid, 0)
        process.returncode = -signal.SIGKILL
        log.seek(max(0, log.seek(0, os.SEEK_END) - 2000))  # its last lines: enough to say why it stopped
        err = "".join(c if c.isprintable() or c == "\n" else "?" for c in log.read().decode(errors="replace"))
        log.close()
        out_bytes = int(reader.stdout.read().split()[0])
        reader.wait()
        usage = ended
        if served < backlog:
            raise SystemExit(f"Go collector stopped after {served} of {backlog} events:\n{err}")
        return {"events": served, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": peak_kb,
                "requests": len(records), "stdout_bytes": out_bytes}
    finally:
        shutil.rmtree(home, ignore_errors=True)
