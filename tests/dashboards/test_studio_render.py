"""Every Dashboard Studio view drawn in headless Chromium by Splunk's own DashboardCore, as a Splunk
user would see it: each search replaced by stub rows (stub_rows.py: columns from its SPL), and
structure asserted only: every visualization of the layout drawn, DashboardCore's validator
silent, no console error, one table header per data column.

Needs Node.js 20 with npm and Debian's Chromium; without them this module skips with one line.
"""

import copy

import pytest

import dashboard_queries as dq
import dashboard_studio as studio

_MISSING = studio.node_missing() or studio.chromium_missing()
if _MISSING:
    pytest.skip(f"Dashboard render skipped: {_MISSING}", allow_module_level=True)

DEFINITIONS = dq.load_all()
NAMES = sorted(DEFINITIONS)


def _broken_render():
    """The overview with mistakes only a browser shows: a panel type Splunk cannot draw, a search
    that fails (its table then has no header), an option value of the wrong type, a column too
    narrow for its header, and a panel 60 px short, whose last row the table's scrolling body
    hides above the paging buttons (the panel itself still ends below it)."""
    definition = copy.deepcopy(DEFINITIONS["onepassword_overview"])
    definition["visualizations"]["viz_kpi_users"]["type"] = "splunk.tabel"
    definition["visualizations"]["viz_freshness"]["options"]["count"] = "ten"
    definition["visualizations"]["viz_failure_reasons"]["options"]["columnFormat"] = {"source_ips": {"width": 52}}
    short = next(block for block in definition["layout"]["structure"] if block["item"] == "viz_audit_actions")
    short["position"]["h"] -= 60
    rendered = studio.stub_rows.render_definition(definition, "onepassword_overview")
    rendered["dataSources"]["ds_fired"]["options"]["error"] = "Error in 'search' command: unknown macro"
    return rendered


@pytest.fixture(scope="session")
def rendering():
    studio.ensure_packages()
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
    assert "table viz_failure_reasons: a word of header(s) ['source_ips'] is broken over two lines" in found, found
    assert any(problem.startswith("table viz_audit_actions: 1 row(s) cut off") for problem in found), found
