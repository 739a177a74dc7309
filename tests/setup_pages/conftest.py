"""Fixtures of the setup-page tests: the configuration as ucc-gen hands it to the
pages, and the REST handlers it generates from it."""

import __main__
import copy
import importlib.util
import json
import os

import pytest


@pytest.fixture(scope="session")
def built_ui_config(built_addon):
    """globalConfig.json as ucc-gen hands it to the pages (the proxy and logging tabs
    expanded into their fields)."""
    path = os.path.join(built_addon, "appserver", "static", "js", "build", "globalConfig.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def generated_handlers(built_addon):
    """The REST handler modules ucc-gen generated (bin/ta_1password_events_rh_*.py),
    imported as splunkd would run them, with splunktaucclib's real field validators."""
    modules = {}
    environment = copy.deepcopy(dict(os.environ))
    main_file = getattr(__main__, "__file__", None)
    try:
        for name in ("account", "settings", "onepassword"):
            path = os.path.join(built_addon, "bin", "ta_1password_events_rh_%s.py" % name)
            # splunkd runs a handler as __main__ from etc/apps/<app>/bin, and splunktaucclib
            # reads the app's name from that path
            __main__.__file__ = os.path.join(os.sep, "opt", "splunk", "etc", "apps", os.path.basename(built_addon),
                                             "bin", os.path.basename(path))
            spec = importlib.util.spec_from_file_location("generated_rh_%s" % name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules[name] = module
    finally:  # the handlers also drop proxy variables from the environment when imported
        if main_file is None:
            del __main__.__file__
        else:
            __main__.__file__ = main_file
        os.environ.clear()
        os.environ.update(environment)
    return modules
