"""Every Dashboard Studio view checked by Splunk's own validator (npm @splunk/dashboard-*, pinned in
studio/package-lock.json), the way DashboardCore checks it (layout migrated to tabs, schema built
from the Enterprise preset), plus the reference checks that validator leaves out.

Needs Node.js 20 with npm (the packages install from the lock on first use, ~590 MB); without it
this module skips with one line. The render in Chromium: test_studio_render.py.
"""

import copy

import pytest

import dashboard_queries as dq
import dashboard_studio as studio

if studio.node_missing():
    pytest.skip(f"Dashboard Studio validation skipped: {studio.node_missing()}", allow_module_level=True)

DEFINITIONS = dq.load_all()
NAMES = sorted(DEFINITIONS)


def _broken_definitions():
    """The overview with one mistake each, as a person editing the JSON might make them."""
    base = DEFINITIONS["onepassword_overview"]
    mistakes = {
        "primary_names_no_data_source": lambda d: d["visualizations"]["viz_fired"]["dataSources"]
        .__setitem__("primary", "ds_gone"),
        "misspelt_option": lambda d: d["visualizations"]["viz_fired"]["options"].__setitem__("showRowNumber", False),
        "option_of_the_wrong_type": lambda d: d["visualizations"]["viz_fired"]["options"].__setitem__("count", "ten"),
        "layout_names_no_visualization": lambda d: d["layout"]["structure"].append(
            {"item": "viz_gone", "type": "block", "position": {"x": 0, "y": 1190, "w": 1440, "h": 100}}),
        "unknown_visualization_type": lambda d: d["visualizations"]["viz_fired"].__setitem__("type", "splunk.tabel"),
        "chain_extends_nothing": lambda d: d["dataSources"]["ds_kpi_users"]["options"].__setitem__("extend", "ds_gone"),
        "two_inputs_one_token": lambda d: d["inputs"]["input_account"]["options"].__setitem__("token", "global_time"),
    }
    broken = {}
    for name, mistake in mistakes.items():
        definition = copy.deepcopy(base)
        mistake(definition)
        broken[name] = definition
    return broken


@pytest.fixture(scope="session")
def validation():
    studio.ensure_packages()
    definitions = dict(DEFINITIONS)
    definitions.update({f"broken:{name}": d for name, d in _broken_definitions().items()})
    return studio.validate(definitions)


def test_the_validator_is_splunks_pinned_release(validation):
    assert set(validation["_versions"].values()) == {"29.6.0"}, validation["_versions"]


@pytest.mark.parametrize("name", NAMES)
def test_splunks_validator_accepts_the_dashboard(validation, name):
    assert validation[name]["splunk"] == []


@pytest.mark.parametrize("name", NAMES)
def test_every_reference_and_option_name_is_known_to_splunk(validation, name):
    assert validation[name]["references"] == []


@pytest.mark.parametrize("mistake, caught_by", [
    ("primary_names_no_data_source", "references"), ("misspelt_option", "references"),
    ("chain_extends_nothing", "references"), ("option_of_the_wrong_type", "splunk"),
    ("layout_names_no_visualization", "splunk"), ("unknown_visualization_type", "splunk"),
    ("two_inputs_one_token", "splunk"),
])
def test_a_broken_definition_fails_validation(validation, mistake, caught_by):
    result = validation[f"broken:{mistake}"]
    assert result[caught_by], result


