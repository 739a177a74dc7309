"""Where no Docker engine answers (this machine), `pytest tests/e2e` skips every test with
one summary line, and nothing else happens."""

import os
import re
import subprocess
import sys

import pytest

from e2e.settings import ROOT
from e2e.stack import SKIP_PREFIX, SKIP_SUFFIX, Stack


def test_the_suite_skips_with_one_line_without_a_docker_engine(tmp_path):
    reason = Stack(os.path.join(ROOT, "docker-compose.yml")).unavailable_reason()
    if reason is None:
        pytest.skip("a Docker engine and the stack are up here: the suite would run, not skip")
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/e2e", "-q", "-ra", "-p", "no:randomly"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, SPLUNK_HOME=str(tmp_path)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED [")]
    assert len(skipped) == 1, skipped
    line = skipped[0]
    assert re.match(r"SKIPPED \[(\d+)\] tests/e2e/conftest\.py:\d+: ", line), line
    assert line.endswith(SKIP_PREFIX + reason + SKIP_SUFFIX), line
    count = int(re.match(r"SKIPPED \[(\d+)\]", line).group(1))
    assert re.search(r"\b%d skipped\b" % count, result.stdout) and count > 100
    assert not re.search(r"\d+ (passed|failed|errors?)\b", result.stdout), result.stdout[-500:]
