"""Stand-in for the ``splunk-cim-models`` package that pytest-splunk-addon 7.0.5 imports.

The real package is published only from GitHub (splunk/psa-cim-models); the PyPI name
``splunk-cim-models`` 0.0.1 is an empty placeholder. pytest-splunk-addon 7.0.5 still ships
the CIM JSON files itself, so this stand-in points at those and adds the recommended-field
table (datamodel_definition.py, copied from pytest-splunk-addon's history, Apache-2.0).

It is put on sys.path only when the installed ``splunk_cim_models`` lacks these names:
tests/knowledge/conftest.py does it for the static tests, and test_psa_generation.py and
the dockerized run pass PYTHONPATH=tests/knowledge/cim_models_shim.
"""
import os

import pytest_splunk_addon

from .datamodel_definition import datamodels  # noqa: F401

_PSA_DIR = os.path.dirname(os.path.abspath(pytest_splunk_addon.__file__))

DATA_MODELS_PATH = os.path.join(_PSA_DIR, "data_models")
COMMON_FIELDS_PATH = os.path.join(_PSA_DIR, "cim_tests", "CommonFields.json")
DATAMODEL_SCHEMA_PATH = os.path.join(_PSA_DIR, "cim_tests", "DatamodelSchema.json")

for _path in (DATA_MODELS_PATH, COMMON_FIELDS_PATH, DATAMODEL_SCHEMA_PATH):
    if not os.path.exists(_path):
        raise ImportError(
            "pytest-splunk-addon no longer ships %s: install the real splunk-cim-models "
            "package (github.com/splunk/psa-cim-models) instead of this stand-in" % _path
        )
