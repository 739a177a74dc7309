"""docker-compose.yml, checked without a Docker engine: its structure and defaults, the
simulator service's command run here for real (same script, same arguments, paths
mapped to a temp dir), and `docker compose config` where the compose plugin exists."""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from e2e import settings
from simulator.server import build_parser, parse_fault_spec

ROOT = settings.ROOT
COMPOSE = os.path.join(ROOT, "docker-compose.yml")
VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value, env):
    """Compose's ${VAR} / ${VAR:-default} (and $$ for a literal $)."""
    def replace(match):
        name, default = match.group(1), match.group(2)
        return env.get(name) or (default if default is not None else "")

    return VAR.sub(replace, value).replace("$$", "$")


def compose_defaults(text):
    return {m.group(1): m.group(2) for m in VAR.finditer(text) if m.group(2) is not None}


@pytest.fixture(scope="module")
def compose():
    with open(COMPOSE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def compose_text():
    with open(COMPOSE, encoding="utf-8") as handle:
        return handle.read()


def test_services_and_volumes(compose):
    assert set(compose["services"]) == {"splunk", "simulator"}
    assert "name" not in compose  # the project name comes from -p: Compose v1 rejects a top-level name
    assert "e2e-shared" in compose["volumes"]


def test_splunk_image_is_a_pinned_10x_tag(compose):
    image = interpolate(compose["services"]["splunk"]["image"], {})
    assert re.fullmatch(r"splunk/splunk:10\.\d+\.\d+", image), image
    assert interpolate(compose["services"]["splunk"]["image"], {"SPLUNK_IMAGE": "splunk/splunk:10.2.0"}) == \
        "splunk/splunk:10.2.0"


def test_every_image_is_pinned_to_a_release(compose):
    """No moving tag: the Splunk image to a 10.x.y release, the simulator's to a Python patch
    release and Debian suite (the runtime the package tests load under, 3.13.0)."""
    simulator = interpolate(compose["services"]["simulator"]["image"], {})
    assert re.fullmatch(r"python:3\.13\.0-slim-bookworm", simulator), simulator
    for service in compose["services"].values():
        image = interpolate(service["image"], {})
        assert not image.endswith(":latest") and re.search(r":\S*\d+\.\d+\.\d+", image), image


def test_the_image_never_logs_in_to_splunkbase(compose):
    """run_e2e.sh fetches the CIM app itself: a failed login or download inside the image would
    fail its provisioning and take the stack down."""
    env = compose["services"]["splunk"]["environment"]
    assert not [name for name in env if name.startswith("SPLUNKBASE")]


def test_a_simulator_image_without_openssl_stops_with_one_clear_line(compose, tmp_path):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for tool in ("sh", "rm"):
        os.symlink(shutil.which(tool), stubs / tool)
    (stubs / "apt-get").write_text("#!/bin/sh\nexit 100\n")
    (stubs / "apt-get").chmod(0o755)
    argv = _simulator_argv(compose, {})
    result = subprocess.run([shutil.which("sh")] + argv[1:], env={"PATH": str(stubs)}, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1
    assert "--tls needs the openssl command and it could not be installed" in result.stderr
    assert "use a SIMULATOR_IMAGE that has openssl" in result.stderr


def test_splunk_10_acceptances_and_credentials(compose, compose_text):
    env = compose["services"]["splunk"]["environment"]
    assert "--accept-license" in env["SPLUNK_START_ARGS"].split()
    assert env["SPLUNK_GENERAL_TERMS"] == "--accept-sgt-current-at-splunk-com"
    assert env["TZ"] == "UTC"   # docs/detections.md: @d snapping and business hours in UTC
    defaults = compose_defaults(compose_text)
    for name in ("SPLUNK_PASSWORD", "SPLUNK_HEC_TOKEN", "SPLUNK_MGMT_PORT", "SPLUNK_WEB_PORT", "SPLUNK_HEC_PORT"):
        assert defaults[name] == settings.DEFAULTS[name], name
    assert len(defaults["SPLUNK_PASSWORD"]) >= 8   # Splunk refuses shorter admin passwords
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", defaults["SPLUNK_HEC_TOKEN"])
    assert interpolate(env["SPLUNK_APPS_URL"], {}) == "/tmp/e2e-apps/TA-1password-events.tgz"


def test_ports_are_published_on_loopback_only(compose):
    published = {}
    for spec in compose["services"]["splunk"]["ports"]:
        address, host, container = interpolate(spec, {}).split(":")
        assert address == "127.0.0.1", spec
        published[int(container)] = int(host)
    assert published == {8000: 8000, 8089: 8089, 8088: 8088}
    assert "ports" not in compose["services"]["simulator"]


def test_mounts(compose):
    splunk, simulator = compose["services"]["splunk"], compose["services"]["simulator"]
    assert "${E2E_APPS_DIR:-./dist/e2e/apps}:/tmp/e2e-apps:ro" in splunk["volumes"]
    assert "e2e-shared:/shared:ro" in splunk["volumes"]
    assert "e2e-shared:/shared" in simulator["volumes"]
    assert "./tests:/sim/tests:ro" in simulator["volumes"]
    assert simulator["network_mode"] == "service:splunk"


def test_healthchecks(compose):
    for name, service in compose["services"].items():
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and check["retries"] >= 10, name
    assert compose["services"]["splunk"]["healthcheck"]["test"] == ["CMD", "/sbin/checkstate.sh"]


def _simulator_argv(compose, env):
    service = compose["services"]["simulator"]
    return [interpolate(part, env) for part in service["entrypoint"] + service["command"]]


def test_the_simulator_command_matches_what_the_suite_reads(compose):
    argv = _simulator_argv(compose, {})
    assert argv[:2] == ["sh", "-c"] and "/sim/tests/simulator/server.py" in argv[2]
    assert os.path.isfile(os.path.join(ROOT, "tests", "simulator", "server.py"))
    args = build_parser().parse_args(argv[4:])
    assert args.tls and args.port == 8443 and settings.SIMULATOR_URL == "https://127.0.0.1:%d" % args.port
    assert settings.SIMULATOR_CA_BUNDLE == args.cert_dir + "/cert.pem"
    assert (args.token_file, args.dump_items) == (settings.SIMULATOR_TOKEN_FILE, settings.SIMULATOR_ITEMS_FILE)
    assert min(args.signinattempts, args.itemusages, args.auditevents) >= 1000
    [fault] = [parse_fault_spec(spec) for spec in args.fault]
    assert fault.kind == "slow" and fault.times is None and fault.stream is None
    assert fault.params["delay"] > 0


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_simulator_service_runs_as_composed(compose, tmp_path):
    """The entrypoint and command of the simulator service, run here: /sim/tests is this
    repository's tests/, /shared a temp dir; a stale certificate is replaced; the token,
    the CA bundle and the item dump work together over TLS; every answer is delayed."""
    if shutil.which("openssl") is None:
        pytest.skip("the simulator's TLS needs the openssl command")
    shared = tmp_path / "shared"
    (shared / "tls").mkdir(parents=True)
    (shared / "tls" / "cert.pem").write_text("stale")
    (shared / "tls" / "key.pem").write_text("stale")
    port = _free_port()
    env = {"SIM_SIGNINATTEMPTS": "120", "SIM_ITEMUSAGES": "80", "SIM_AUDITEVENTS": "40", "SIM_PAGE_DELAY": "0.2"}
    argv = [part.replace("/sim/tests", os.path.join(ROOT, "tests")).replace("/shared", str(shared))
            for part in _simulator_argv(compose, env)]
    argv = [str(port) if part == "8443" else part for part in argv]
    argv[2] = argv[2].replace("python3", sys.executable)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        items_file = shared / "items.json"
        deadline = time.time() + 30
        while not items_file.exists():
            assert process.poll() is None, process.communicate()
            assert time.time() < deadline, "no item dump"
            time.sleep(0.05)
        health = compose["services"]["simulator"]["healthcheck"]["test"]
        probe = [sys.executable] + [part.replace("8443", str(port)).replace("/shared", str(shared))
                                    for part in health[2:]]
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
        dump = json.loads(items_file.read_text(encoding="utf-8"))
        assert {k: len(v) for k, v in dump["streams"].items()} == {"signinattempts": 120, "itemusages": 80,
                                                                  "auditevents": 40}
        token = (shared / "token").read_text().strip()
        assert oct((shared / "token").stat().st_mode & 0o777) == "0o600"
        assert (shared / "tls" / "cert.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
        context = ssl.create_default_context(cafile=str(shared / "tls" / "cert.pem"))
        base = "https://127.0.0.1:%d" % port
        started = time.time()
        request = urllib.request.Request(base + "/api/v2/auth/introspect", headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            assert sorted(json.loads(answer.read())["features"]) == ["auditevents", "itemusages", "signinattempts"]
        assert time.time() - started >= 0.2     # the slow fault: restarts can land mid-backlog
        served, body = [], {"limit": 1000, "start_time": "2000-01-01T00:00:00Z"}
        while True:
            request = urllib.request.Request(base + "/api/v2/itemusages", data=json.dumps(body).encode(),
                                             headers={"Authorization": "Bearer " + token,
                                                      "Content-Type": "application/json"})
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                text = answer.read().decode("utf-8")
            page = json.loads(text)
            served.extend(page["items"])
            if not page["has_more"]:
                break
            body = {"cursor": page["cursor"]}
        assert served == [json.loads(text) for text in dump["streams"]["itemusages"]]  # what a client receives
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # only its own CA trusts it
            urllib.request.urlopen(base + "/api/v2/auth/introspect", context=ssl.create_default_context(), timeout=10)
    finally:
        process.terminate()
        process.wait(10)


def test_docker_compose_config_validates_the_file():
    """`docker compose config` where the plugin is installed, else Compose v1's
    `docker-compose config` (Debian's docker-compose package, which .ci/run installs);
    neither needs a Docker engine."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        command = ["docker", "compose", "-f", COMPOSE, "-p", "ta-1password-events-e2e", "config", "--quiet"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose", "-f", COMPOSE, "-p", "ta-1password-events-e2e", "config", "--quiet"]
    else:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed: the compose file is "
                    "only checked by the structural tests above")
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
