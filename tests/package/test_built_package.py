"""The installable package: what Splunk will load, under the Pythons Splunk ships."""

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from conf_reader import read_conf as conf
from onepassword_events import ADDON_NAME, ADDON_VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLUNK_SITE = os.path.join(ROOT, "tests", "splunkd_fake", "splunk_site")  # splunkd's `splunk` package, faked
PYTHONS = {"3.9": "3.9.18", "3.13": "3.13.0"}
pytestmark = pytest.mark.package


def test_version_is_one_number_everywhere(built_addon):
    meta = json.load(open(os.path.join(ROOT, "globalConfig.json")))["meta"]
    assert meta["name"] == ADDON_NAME and meta["version"] == ADDON_VERSION
    assert conf(os.path.join(built_addon, "default", "app.conf"))["launcher"]["version"] == ADDON_VERSION
    assert json.load(open(os.path.join(built_addon, "app.manifest")))["info"]["id"]["version"] == ADDON_VERSION


def test_every_input_and_rest_handler_requires_python_3_13(built_addon):
    """A REST handler script that ships without its restmap stanza, or one splunkd may run under another Python, fails."""
    inputs = conf(os.path.join(built_addon, "default", "inputs.conf"))
    assert inputs["onepassword"]["python.required"] == "3.13"
    restmap = conf(os.path.join(built_addon, "default", "restmap.conf"))
    handlers = {name: spec for name, spec in restmap.items() if name.startswith("admin_external:")}
    shipped = {name for name in os.listdir(os.path.join(built_addon, "bin")) if "_rh_" in name and name.endswith(".py")}
    assert {spec["handlerfile"] for spec in handlers.values()} == shipped
    for name, spec in handlers.items():
        assert spec["python.required"] == "3.13", name


def test_checkpoint_collection_is_declared(built_addon):
    assert "ta_1password_events_checkpoints" in conf(os.path.join(built_addon, "default", "collections.conf"))


def test_no_compiled_code_or_bytecode_ships(built_addon):
    import tarfile

    package = os.path.join(ROOT, "dist", f"{ADDON_NAME}-{ADDON_VERSION}.tar.gz")
    with tarfile.open(package) as archive:
        names = archive.getnames()
    assert f"{ADDON_NAME}/bin/onepassword.py" in names and any("/lib/requests/" in n for n in names)
    shipped = [n for n in names if "__pycache__" in n or n.endswith((".so", ".pyd", ".dll", ".dylib", ".pyc"))]
    assert shipped == []


def test_helper_and_handlers_are_wired_by_the_generated_files(built_addon):
    bin_dir = os.path.join(built_addon, "bin")
    assert "from onepassword_events_helper import stream_events, validate_input" in open(
        os.path.join(bin_dir, "onepassword.py")).read()
    assert "AccountValidationHandler" in open(os.path.join(bin_dir, "ta_1password_events_rh_account.py")).read()
    assert "InputCheckpointHandler" in open(os.path.join(bin_dir, "ta_1password_events_rh_onepassword.py")).read()


LOADER = r"""
import importlib, json, os, sys
splunkd_stub = sys.argv[1]
sys.path[0] = os.path.dirname(os.path.abspath(__file__))  # bin/, as when splunkd runs a script there
sys.path.append(splunkd_stub)   # splunkd's own `splunk` package, faked; it comes last
loaded = {}
for name in ["onepassword", "onepassword_events_helper", "ta_1password_events_rh_account",
             "ta_1password_events_rh_onepassword", "ta_1password_events_rh_settings", "ta_1password_events_rh_review",
             "onepassword_events_cli"]:
    module = importlib.import_module(name)
    loaded[name] = module.__file__
import requests, splunklib, solnlib, splunktaucclib
loaded["requests"] = requests.__file__
loaded["splunklib"] = splunklib.__file__
print(json.dumps({"python": sys.version.split()[0], "loaded": loaded}))
"""


@pytest.fixture(scope="module")
def installed_addon(built_addon, tmp_path_factory):
    """The add-on copied to $SPLUNK_HOME/etc/apps, as splunkd lays it out."""
    home = tmp_path_factory.mktemp("splunk")
    app = home / "etc" / "apps" / ADDON_NAME
    shutil.copytree(built_addon, app)
    (app / "bin" / "_load_everything.py").write_text(LOADER)
    stub = home / "splunkd-lib"
    shutil.copytree(SPLUNK_SITE, stub, ignore=shutil.ignore_patterns("__pycache__"))
    return home, app, stub


@pytest.mark.parametrize("short", sorted(PYTHONS))
def test_loads_with_only_bin_and_lib_on_the_path(installed_addon, short):
    python = shutil.which(f"python{short}")
    if python is None:
        pytest.skip(f"python{short} is not installed (pyenv {PYTHONS[short]})")
    home, app, stub = installed_addon
    env = {"PATH": os.environ["PATH"], "PYENV_VERSION": PYTHONS[short], "SPLUNK_HOME": str(home),
           "PYTHONDONTWRITEBYTECODE": "1"}
    # -I: no PYTHONPATH, no user site; -S: no site-packages. Only bin/ (and lib/ via import_declare_test).
    result = subprocess.run([python, "-I", "-S", str(app / "bin" / "_load_everything.py"), str(stub)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["python"].startswith(short + ".")
    for name, path in report["loaded"].items():
        assert path.startswith(str(app)), (name, path)


@pytest.mark.parametrize("short", sorted(PYTHONS))
def test_cli_runs_from_the_built_addon(built_addon, short):
    python = shutil.which(f"python{short}")
    if python is None:
        pytest.skip(f"python{short} is not installed")
    env = {"PATH": os.environ["PATH"], "PYENV_VERSION": PYTHONS[short], "PYTHONDONTWRITEBYTECODE": "1",
           "OP_EVENTS_TOKEN": "a.b.c"}
    result = subprocess.run([python, "-I", "-S", "bin/onepassword_events_cli.py", "check", "--base-url",
                             "http://127.0.0.1:9", "--retry-budget", "1"], cwd=built_addon, capture_output=True,
                            text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and result.stderr.startswith("error: [connection] cannot reach 127.0.0.1:9")
