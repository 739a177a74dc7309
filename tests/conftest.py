"""Shared test setup: the add-on's bin/ and splunkd's `splunk` package on sys.path, solnlib logs in a
temp dir, and the fake splunkd as a fixture."""

import os
import subprocess
import sys
import tempfile
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "package", "bin")
# the one fake of splunkd's own `splunk` package, which the fake splunkd also gives its scripts
SPLUNK_SITE = os.path.join(ROOT, "tests", "splunkd_fake", "splunk_site")
for path in (BIN, SPLUNK_SITE, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)
# ucc-gen generates import_declare_test into the built bin/ to put lib/ on sys.path; here the
# add-on's libraries are already importable
sys.modules.setdefault("import_declare_test", types.ModuleType("import_declare_test"))

# solnlib writes its log files under $SPLUNK_HOME/var/log/splunk.
os.environ.setdefault("SPLUNK_HOME", tempfile.mkdtemp(prefix="splunk-home-"))
os.makedirs(os.path.join(os.environ["SPLUNK_HOME"], "var", "log", "splunk"), exist_ok=True)


ADDON_DIR = os.path.join(ROOT, "output", "TA-1password-events")


@pytest.fixture
def splunkd(tmp_path, monkeypatch):
    """splunkd's one fake (tests/splunkd_fake) with the add-on's settings file, and this process
    pointed at it as the modular input and the REST handlers are."""
    import responses

    from splunkd_fake import SETTINGS_CONF, FakeSplunkd

    with FakeSplunkd(splunk_home=tmp_path / "splunk") as fake, fake.activate():
        fake.create_conf(SETTINGS_CONF)
        monkeypatch.setenv("SPLUNKD_URI", fake.url)  # where splunktaucclib looks for splunkd first
        responses.add_passthru(fake.url)  # solnlib's requests reach it while `responses` fakes the Events API
        yield fake


def _newest_source_mtime():
    # what ucc-gen builds from: the config, the package, and the build hook; and what the release files come from
    newest = max(os.path.getmtime(os.path.join(ROOT, name))
                 for name in ("globalConfig.json", "additional_packaging.py", "CHANGELOG.md", "ucc_build.sh",
                              os.path.join("tools", "release_files.py")))
    for folder, _, files in os.walk(os.path.join(ROOT, "package")):
        if "__pycache__" in folder:
            continue
        for name in files:
            newest = max(newest, os.path.getmtime(os.path.join(folder, name)))
    return newest


@pytest.fixture(scope="session")
def built_addon():
    """output/TA-1password-events (and its package in dist/), rebuilt without the AppInspect
    gate when missing or older than the sources."""
    import fcntl
    import hashlib
    import tempfile

    # one build at a time: pytest-xdist workers that all find the build stale would otherwise
    # rebuild output/ together, each deleting what another is reading
    lock_path = os.path.join(tempfile.gettempdir(),
                             "ta-1password-events-build-%s.lock" % hashlib.sha1(ROOT.encode()).hexdigest()[:12])
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = os.path.join(ADDON_DIR, "VERSION")
        packages = [n for n in os.listdir(os.path.join(ROOT, "dist")) if n.endswith(".tar.gz")] \
            if os.path.isdir(os.path.join(ROOT, "dist")) else []
        if not packages or not os.path.exists(marker) or os.path.getmtime(marker) < _newest_source_mtime():
            result = subprocess.run([os.path.join(ROOT, "ucc_build.sh"), "--skip-appinspect"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=1200)
            assert result.returncode == 0, f"build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return ADDON_DIR


# Where the cost is, by file: ./run_tests.sh --fast leaves these out (-m "not slow and not browser and not build")
_COSTLY_FILES = {
    "browser": ("tests/setup_pages/test_setup_pages_browser.py", "tests/dashboards/test_studio_render.py"),
    # Splunk's Dashboard Studio validator runs in Node.js (its npm packages install on first use)
    # pytest-splunk-addon's test generator (what the dockerized suite runs) takes ~12 s of CPU on its own
    "slow": ("tests/functional/test_crash_kill9.py", "tests/functional/test_hostile_server.py", "tests/e2e/",
             "tests/dashboards/test_studio_validate.py", "tests/knowledge/test_psa_generation.py"),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = os.path.relpath(str(item.fspath), ROOT).replace(os.sep, "/")
        for marker, files in _COSTLY_FILES.items():
            if path.startswith(files):
                item.add_marker(marker)
        if "built_addon" in getattr(item, "fixturenames", ()) or item.get_closest_marker("package"):
            item.add_marker("build")
