"""The README's two commands on a Python their pinned tools cannot use: one clear line, exit 2."""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON_39 = shutil.which("python3.9") or "/root/.pyenv/versions/3.9.18/bin/python3"


@pytest.mark.skipif(not os.path.exists(PYTHON_39), reason="no Python 3.9 here to try the refusal with")
@pytest.mark.parametrize("script", ["run_tests.sh", "ucc_build.sh"])
def test_a_python_the_tools_cannot_use_is_refused_with_one_line(script, tmp_path):
    env = dict(os.environ, PYTHON=PYTHON_39, VENV=str(tmp_path / "venv"), PYENV_VERSION="3.9.18")
    result = subprocess.run(["bash", os.path.join(ROOT, script)], env=env, capture_output=True, timeout=60, cwd=ROOT)
    err = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2 and len(err) == 1
    assert "need Python 3.10 to 3.13" in err[0] and "3.9.18" in err[0] and "PYTHON=" in err[0]
    assert not (tmp_path / "venv").exists()  # refused before anything was made
