"""tests/e2e/stack.py and settings.py: the decision to run or skip (one line), docker
command lines, and the run's names."""

import subprocess

import pytest

from e2e import settings as settings_module
from e2e.settings import DEFAULTS, Settings, run_id
from e2e.stack import Stack, StackError, parse_compose_ps, skip_line


class Runner:
    """Stands in for subprocess.run: answers by the command's leading words."""

    def __init__(self, answers):
        self.answers = answers
        self.commands = []

    def __call__(self, command, input=None, **kwargs):
        self.commands.append((command, input))
        for prefix, (rc, out, err) in self.answers.items():
            if tuple(command[:len(prefix)]) == prefix:
                if rc == "timeout":
                    raise subprocess.TimeoutExpired(command, 30)
                return subprocess.CompletedProcess(command, rc, out, err)
        raise AssertionError("unexpected command %r" % (command,))


PS_UP = '{"Service":"splunk","State":"running","Health":"healthy"}\n{"Service":"simulator","State":"running","Health":""}\n'
OK = {("docker", "info"): (0, "28.2.2\n", ""), ("docker", "compose", "version"): (0, "v2.29\n", ""),
      ("docker", "compose", "-f"): (0, PS_UP, "")}


def _stack(answers, which=lambda name: "/usr/bin/" + name):
    return Stack("/repo/docker-compose.yml", runner=Runner(answers), which=which)


def test_skip_line_is_one_line():
    line = skip_line("no Docker engine reachable (docker info: Cannot connect)")
    assert line == ("dockerized Splunk suite skipped: no Docker engine reachable (docker info: Cannot connect); "
                    "run ./run_e2e.sh where Docker runs")
    assert "\n" not in line


def test_no_docker_command():
    assert _stack(OK, which=lambda name: None).unavailable_reason() == "no 'docker' command on PATH"


def test_no_engine_quotes_the_first_line_of_docker_info():
    stack = _stack({**OK, ("docker", "info"): (1, "", "\nCannot connect to the Docker daemon at "
                                                            "unix:///var/run/docker.sock. Is it running?\nmore")})
    assert stack.unavailable_reason() == ("no Docker engine reachable (docker info: Cannot connect to the Docker "
                                          "daemon at unix:///var/run/docker.sock. Is it running?)")
    assert stack.runner.commands[0][0] == ["docker", "info", "--format", "{{.ServerVersion}}"]


def test_docker_info_hanging():
    stack = _stack({**OK, ("docker", "info"): ("timeout", "", "")})
    assert stack.unavailable_reason() == "no Docker engine reachable (docker info timed out)"


def test_no_compose_plugin():
    stack = _stack({**OK, ("docker", "compose", "version"): (1, "", "docker: unknown command: docker compose")})
    assert stack.unavailable_reason().startswith("the docker compose plugin is missing (docker compose version: "
                                                 "docker: unknown command")


@pytest.mark.parametrize("ps,reason", [
    ("", "the e2e stack is not up (no 'splunk' container)"),
    ("[]", "the e2e stack is not up (no 'splunk' container)"),
    ('[{"Service":"splunk","State":"exited","Health":""}]', "the e2e stack is not up ('splunk' container is exited)"),
    ('{"Service":"splunk","State":"running","Health":"starting"}',
     "the e2e stack is not ready ('splunk' container is starting)"),
    ("not json", "the e2e stack is not up (unreadable docker compose ps output)"),
    (PS_UP, None),
    ('[{"Service":"splunk","State":"running","Health":"healthy"}]', None),
])
def test_stack_state(ps, reason):
    stack = _stack({**OK, ("docker", "compose", "-f"): (0, ps, "")})
    assert stack.unavailable_reason() == reason
    assert stack.runner.commands[-1][0] == ["docker", "compose", "-f", "/repo/docker-compose.yml", "-p", "ta-1password-events-e2e", "ps", "--all",
                                            "--format", "json"]


def test_parse_compose_ps_both_formats():
    assert parse_compose_ps(PS_UP)[1]["Service"] == "simulator"
    assert parse_compose_ps('[{"Service":"a"}]') == [{"Service": "a"}]
    assert parse_compose_ps("  \n") == []


def test_read_and_append_run_inside_the_containers():
    stack = _stack({("docker", "compose", "-f"): (0, "token\n", "")})
    assert stack.read_file("simulator", "/shared/token") == "token\n"
    stack.read_file("splunk", "/opt/splunk/etc/x.conf", user="splunk")
    stack.append_file("splunk", "/opt/splunk/var/log/splunk/x.log", "line 1\nline 2\n", user="splunk")
    (read, _), (read_as, _), (append, stdin) = stack.runner.commands
    assert read == ["docker", "compose", "-f", "/repo/docker-compose.yml", "-p", "ta-1password-events-e2e", "exec", "-T", "simulator", "cat",
                    "/shared/token"]
    assert read_as[8:] == ["-u", "splunk", "splunk", "cat", "/opt/splunk/etc/x.conf"]
    assert append == ["docker", "compose", "-f", "/repo/docker-compose.yml", "-p", "ta-1password-events-e2e", "exec", "-T", "-u", "splunk", "splunk",
                      "sh", "-c", 'cat >> "$1"', "sh", "/opt/splunk/var/log/splunk/x.log"]
    assert stdin == "line 1\nline 2\n"


def test_append_really_appends_with_that_shell_line(tmp_path):
    target = tmp_path / "x.log"
    target.write_text("old\n")
    for text in ("a\n", "b\n"):
        subprocess.run(["sh", "-c", 'cat >> "$1"', "sh", str(target)], input=text, text=True, check=True)
    assert target.read_text() == "old\na\nb\n"


def test_failures_inside_containers_raise():
    stack = _stack({("docker", "compose", "-f"): (1, "", "service \"simulator\" is not running\n")})
    with pytest.raises(StackError, match='is not running'):
        stack.read_file("simulator", "/shared/token")
    with pytest.raises(StackError):
        stack.append_file("splunk", "/x", "y")


# -- settings ----------------------------------------------------------------------------------
def test_settings_defaults_and_overrides():
    default = Settings.from_env({}, clock=lambda: 1767225600)
    assert (default.mgmt_url, default.hec_url) == ("https://127.0.0.1:8089", "https://127.0.0.1:8088")
    assert default.password == DEFAULTS["SPLUNK_PASSWORD"] and default.username == "admin"
    assert default.run == run_id(lambda: 1767225600) and default.index_prefix == "op_e2e_%s_" % default.run
    custom = Settings.from_env({"SPLUNK_MGMT_PORT": "18089", "SPLUNK_PASSWORD": "x", "E2E_RUN_ID": "ci42",
                                "SPLUNK_HEC_TOKEN": ""})
    assert custom.mgmt_url == "https://127.0.0.1:18089" and custom.password == "x" and custom.run == "ci42"
    assert custom.hec_token == DEFAULTS["SPLUNK_HEC_TOKEN"]  # empty = default
    with pytest.raises(ValueError, match="E2E_RUN_ID"):
        Settings.from_env({"E2E_RUN_ID": "Bad-Id"})


def test_run_id_is_base36_seconds():
    assert run_id(lambda: 0) == "0"
    assert run_id(lambda: 35) == "z"
    assert run_id(lambda: 36) == "10"
    assert run_id(lambda: 1767225600.9) == "t85s00"
    assert int(run_id(lambda: 1767225600), 36) == 1767225600


def test_the_simulator_paths_agree_with_each_other():
    assert settings_module.SIMULATOR_CA_BUNDLE.startswith("/shared/tls/")
    assert settings_module.SIMULATOR_URL == "https://127.0.0.1:8443"
