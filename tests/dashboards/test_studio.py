"""Every Dashboard Studio view checked by Splunk's own code (npm @splunk/dashboard-*, pinned in
studio/package-lock.json) and drawn in headless Chromium, as a Splunk user would see it.

* Validation runs Splunk's DashboardValidator the way DashboardCore does (layout migrated to tabs,
  schema built from the Enterprise preset), plus the reference checks that validator leaves out.
* Rendering draws each dashboard with stub rows in place of its searches (stub_rows.py: columns
  from each search's SPL) and asserts structure only: every visualization drawn, no validation or
  console error, one table header per data column.

Needs Node.js 20 with npm (packages install from the lock on first use, ~570 MB) and, for the
render, Debian's Chromium; each part skips with one line where its tool is missing.
"""

import copy

import pytest

import dashboard_queries as dq
import dashboard_studio as studio

DEFINITIONS = dq.load_all()
NAMES = sorted(DEFINITIONS)


@pytest.fixture(scope="session")
def studio_ready():
    reason = studio.node_missing()
    if reason:
        pytest.skip(f"Dashboard Studio checks skipped: {reason}")
    studio.ensure_packages()
    return True


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
def validation(studio_ready):
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


def _broken_render():
    """The overview with mistakes only a browser shows: a panel type Splunk cannot draw, a search
    that fails (its table then has no header), an option value of the wrong type."""
    definition = copy.deepcopy(DEFINITIONS["onepassword_overview"])
    definition["visualizations"]["viz_kpi_users"]["type"] = "splunk.tabel"
    definition["visualizations"]["viz_freshness"]["options"]["count"] = "ten"
    rendered = studio.stub_rows.render_definition(definition, "onepassword_overview")
    rendered["dataSources"]["ds_fired"]["options"]["error"] = "Error in 'search' command: unknown macro"
    return rendered


@pytest.fixture(scope="session")
def rendering(studio_ready):
    reason = studio.chromium_missing()
    if reason:
        pytest.skip(f"Dashboard render skipped: {reason}")
    studio.ensure_bundle()
    jobs = studio.render_jobs(DEFINITIONS)
    jobs.append({"name": "broken", "definition": _broken_render(), "colorScheme": "light", "screenshot": None})
    return studio.render(jobs)


@pytest.mark.parametrize("name", NAMES)
def test_the_dashboard_renders_in_chromium_as_a_user_sees_it(rendering, name):
    result = rendering[name]
    layout = [block["item"] for block in DEFINITIONS[name]["layout"]["structure"]]
    assert sorted(result["expectedViz"]) == sorted(layout)
    assert studio.problems(name, DEFINITIONS[name], result) == []


@pytest.mark.parametrize("name", NAMES)
def test_every_table_shows_one_header_per_data_column(rendering, name):
    tables = studio.stub_rows.table_columns(studio.stub_rows.render_definition(DEFINITIONS[name], name))
    assert tables, "every dashboard here has tables"
    for viz_id, columns in tables.items():
        assert len(rendering[name]["tables"][viz_id]) == len(columns), viz_id


def test_the_render_check_sees_what_a_user_would_see_wrong(rendering):
    result = rendering["broken"]
    errors = result["validationErrors"]
    assert any("viz_kpi_users/type" in error for error in errors), errors
    assert any("viz_freshness/options/count" in error for error in errors), errors
    assert result["tables"].get("viz_fired") in (None, []), "a failed search draws no table header"
    found = studio.problems("onepassword_overview", DEFINITIONS["onepassword_overview"], result)
    assert any("table viz_fired" in problem for problem in found), found
    assert any(problem.startswith("validation error") for problem in found), found
