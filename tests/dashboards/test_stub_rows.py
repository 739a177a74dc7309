"""The stub rows the render test draws: their columns follow each search's SPL the way Splunk's
commands shape results (stats: group-by fields first, then the aggregations in order; rename,
table and fields as written; timechart: _time then one column per value of the split-by field)."""

import random

import pytest

import dashboard_queries as dq
import stub_rows

DEFINITIONS = dq.load_all()


def names(spl):
    return [column.name for column in stub_rows.shape_of(spl).columns]


@pytest.mark.parametrize("spl, expected", [
    ("`m` | stats count dc(user) as users dc(src) as source_ips by signature reason | rename signature as outcome",
     ["outcome", "reason", "count", "users", "source_ips"]),
    ('`m` | stats count(eval(action=="failure")) as failed dc(eval(if(action=="failure", src, null()))) as ips by user'
     ' | eval rate=round(100 * failed, 1)', ["user", "failed", "ips", "rate"]),
    ('| tstats count from datamodel=Authentication.Failed_Authentication where x by _time span=1m Authentication.src'
     ' | rename "Authentication.*" AS *', ["_time", "src", "count"]),
    ("`m` | eval time=strftime(_time, \"%Y\") | table time user src | rename user as actor",
     ["time", "actor", "src"]),
    ('`m` | rex "event=(?<log_event>\\w+) x=\\"(?<label>[^\\"]+)\\"" | stats count by log_event label',
     ["log_event", "label", "count"]),
    ("| tstats count where `x` by source | eval account=replace(source, \"^a\", \"\") | fields account source",
     ["account", "source"]),
])
def test_columns_follow_the_spl(spl, expected):
    assert names(spl) == expected


def test_a_timechart_has_time_then_one_column_per_series_value():
    shape = stub_rows.shape_of('`onepassword_signin_events` | eval outcome=case(a=="x", "success", true(), "failure")'
                               " | timechart count by outcome")
    rows_names, columns = stub_rows.rows_for(shape, stub_rows.Values(random.Random(1), shape, 1))
    assert rows_names == ["_time", "failure", "success"]
    assert all(value.isdigit() for column in columns[1:] for value in column)


def test_a_saved_search_is_followed_into_savedsearches_conf():
    columns = names('| savedsearch "1Password - Impossible Travel - Rule" | head 100')
    assert columns[:4] == ["_time", "user", "src", "prev_src"]


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_every_data_source_gets_rows_of_its_own_columns(name):
    data = stub_rows.stub_data(DEFINITIONS[name], name)
    assert set(data) == set(DEFINITIONS[name]["dataSources"])
    for ds_id, table in data.items():
        assert table["fields"], ds_id
        lengths = {len(column) for column in table["columns"]}
        assert len(lengths) == 1 and lengths.pop() >= 1, ds_id


def test_the_rendered_definition_only_swaps_the_searches():
    definition = DEFINITIONS["onepassword_overview"]
    rendered = stub_rows.render_definition(definition, "onepassword_overview")
    assert {ds["type"] for ds in rendered["dataSources"].values()} == {"ds.test"}
    assert rendered["visualizations"] == definition["visualizations"]
    assert rendered["layout"] == definition["layout"] and rendered["inputs"] == definition["inputs"]
