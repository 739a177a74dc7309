"""Knowledge tests: make tests/knowledge importable and give pytest-splunk-addon's
CIM code the data it expects from ``splunk_cim_models`` (see cim_models_shim/)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "cim_models_shim")

if HERE not in sys.path:
    sys.path.insert(0, HERE)


def _ensure_cim_models():
    try:
        import splunk_cim_models

        if hasattr(splunk_cim_models, "DATA_MODELS_PATH"):
            return
        del sys.modules["splunk_cim_models"]
    except ImportError:
        pass
    sys.path.insert(0, SHIM)


_ensure_cim_models()

# pytest-splunk-addon's sample_generation and index_tests import each other: entered through
# sample_generation the cycle fails ("partially initialized module"), which under xdist hit
# whichever test a worker ran first. Entered through index_tests it resolves, so every process
# that runs these tests starts the package there.
# (Its own test templates declare marks it registers only as a plugin, which is not loaded here.)
import warnings  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pytest_splunk_addon.index_tests  # noqa: E402,F401


def pytest_ignore_collect(collection_path, config):
    """test_addon.py needs pytest-splunk-addon's plugins (and a Splunk); the default run
    disables them (pytest.ini), so it is collected only when they are loaded."""
    if collection_path.name == "test_addon.py":
        return not config.pluginmanager.has_plugin("splunk")
    return None
