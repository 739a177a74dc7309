"""pytest-splunk-addon knowledge tests (field extractions, eventtypes, tags, CIM models,
requirement samples, index-time tests), generated from the add-on and samples/.

They need a Splunk with the add-on installed and are not part of the default run
(pytest.ini disables the plugin). Run them, for example, against the built add-on:

    PYTHONPATH=tests/knowledge/cim_models_shim .venv/bin/python -m pytest \\
        -o addopts="" -p plugin -p splunk tests/knowledge/test_addon.py \\
        --splunk-app=output/TA-1password-events --splunk-data-generator=tests/knowledge \\
        --splunk-type=docker   # or --splunk-type=external --splunk-host ... --splunk-password ...

(PYTHONPATH: see tests/knowledge/cim_models_shim/splunk_cim_models/__init__.py.)
"""

try:
    from pytest_splunk_addon.standard_lib.addon_basic import Basic
except ImportError:  # pragma: no cover - only when pytest-splunk-addon is absent
    Basic = object


class Test_App(Basic):
    def empty_method(self):
        pass
