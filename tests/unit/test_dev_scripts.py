"""The README's two commands on a Python their pinned tools cannot use: one clear line, exit 2."""

import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYENV_VERSIONS = os.path.join(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"), "versions")


def _pyenv_python(minor):
    """A Python 3.<minor> (pyenv's, else one on PATH), or a path that does not exist."""
    found = sorted(glob.glob(os.path.join(PYENV_VERSIONS, "3.%d.*" % minor, "bin", "python3")))
    return found[-1] if found else shutil.which("python3.%d" % minor) or "python3.%d-missing" % minor


PYTHON_39 = _pyenv_python(9)


@pytest.mark.skipif(not os.path.exists(PYTHON_39), reason="no Python 3.9 here to try the refusal with")
@pytest.mark.parametrize("script", ["run_tests.sh", "ucc_build.sh"])
def test_a_python_the_tools_cannot_use_is_refused_with_one_line(script, tmp_path):
    env = dict(os.environ, PYTHON=PYTHON_39, VENV=str(tmp_path / "venv"))
    result = subprocess.run(["bash", os.path.join(ROOT, script)], env=env, capture_output=True, timeout=60, cwd=ROOT)
    err = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2 and len(err) == 1
    assert "need Python 3.10 to 3.13" in err[0] and " is 3.9." in err[0] and "PYTHON=" in err[0]
    assert not (tmp_path / "venv").exists()  # refused before anything was made


PYTHON_311 = _pyenv_python(11)
PYTHON_312 = _pyenv_python(12)


def _ensure_venv(env):
    script = ". tools/ensure_venv.sh"
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, timeout=180, cwd=ROOT)


def _version(venv):
    return subprocess.run([str(venv / "bin" / "python"), "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, check=True).stdout.decode().strip()


@pytest.mark.slow  # makes a virtualenv with pip, as a fresh build does (~10 s)
@pytest.mark.skipif(not (os.path.exists(PYTHON_311) and os.path.exists(PYTHON_312)),
                    reason="needs Python 3.11 and 3.12 to switch between")
def test_python_is_honoured_when_the_virtualenv_was_made_by_another_one(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([PYTHON_312, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    shutil.copy(os.path.join(ROOT, "requirements.txt"), venv / ".requirements.installed")
    # no package index here: the new virtualenv's pip install fails fast, after the switch this test is about
    env = dict(os.environ, VENV=str(venv), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(tmp_path))
    env.pop("PYENV_VERSION", None)
    same = _ensure_venv(dict(env, PYTHON=PYTHON_312))
    assert same.returncode == 0 and same.stderr == b"" and _version(venv).startswith("3.12.")
    other = _ensure_venv(dict(env, PYTHON=PYTHON_311))
    lines = other.stderr.decode().splitlines()
    assert lines[0].startswith("== %s was made with" % venv) and " 3.12." in lines[0] and " 3.11." in lines[0]
    assert _version(venv).startswith("3.11.")


def test_the_fast_lane_leaves_out_the_build_chromium_kill_9_and_the_hostile_server():
    # the files that decide it, rather than the whole tree (whose collection alone takes seconds)
    named = ["tests/unit/test_retry.py", "tests/functional/test_cli_errors.py", "tests/package/test_built_package.py",
             "tests/setup_pages/test_setup_pages_browser.py", "tests/dashboards/test_studio_render.py",
             "tests/functional/test_crash_kill9.py", "tests/functional/test_hostile_server.py",
             "tests/functional/test_splunk_edge.py"]
    result = subprocess.run(["bash", os.path.join(ROOT, "run_tests.sh"), "--fast", "--collect-only", "-q", "-n", "0",
                             *named], capture_output=True, timeout=300, cwd=ROOT)
    files = {line.split("::")[0] for line in result.stdout.decode().splitlines() if "::" in line}
    assert result.returncode == 0 and "tests/unit/test_retry.py" in files and "tests/functional/test_cli_errors.py" in files
    for costly in ("tests/package/test_built_package.py",  # the built add-on
                   "tests/setup_pages/test_setup_pages_browser.py", "tests/dashboards/test_studio_render.py",  # Chromium
                   "tests/functional/test_crash_kill9.py", "tests/functional/test_hostile_server.py"):
        assert costly not in files
    ids = result.stdout.decode()
    # a test that needs the built add-on, in a file whose other tests stay
    assert "test_splunk_edge.py::test_read_log_level" in ids
    assert "test_splunk_edge.py::test_the_generated_input_runs_as_splunkd_runs_it" not in ids
