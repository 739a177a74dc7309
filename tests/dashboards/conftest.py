"""The built add-on for the dashboard package tests: same build and freshness rule as tests/package."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

ROOT = os.path.dirname(os.path.dirname(HERE))
BUILT = os.path.join(ROOT, "output", "TA-1password-events")


def _newest_source_mtime():
    newest = os.path.getmtime(os.path.join(ROOT, "globalConfig.json"))
    for folder, _, files in os.walk(os.path.join(ROOT, "package")):
        if "__pycache__" in folder:
            continue
        for name in files:
            newest = max(newest, os.path.getmtime(os.path.join(folder, name)))
    return newest


@pytest.fixture(scope="session")
def built_addon():
    marker = os.path.join(BUILT, "VERSION")
    if not os.path.exists(marker) or os.path.getmtime(marker) < _newest_source_mtime():
        result = subprocess.run([os.path.join(ROOT, "ucc_build.sh"), "--skip-appinspect"], cwd=ROOT,
                                capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, f"build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return BUILT
