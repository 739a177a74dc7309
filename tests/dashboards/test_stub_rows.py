"""The stub rows the render test draws: their columns follow each search's SPL the way Splunk's
commands shape results (stats: group-by fields first, then the aggregations in order; rename,
table and fields as written; timechart: _time then one column per value of the split-by field)."""

import os
import random
import re

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


def _table(data, ds_id):
    names = [f["name"] for f in data[ds_id]["fields"]]
    return [dict(zip(names, row)) for row in zip(*data[ds_id]["columns"])]


def test_the_review_panels_tell_one_history():
    """The records, their revisions, the change log and the config tracker of the Access Review
    screenshot agree: each record's row is its latest revision, its author made revision 1, every
    revision is numbered from 1 without a gap, every saved revision is in the change log."""
    data = stub_rows.stub_data(DEFINITIONS["onepassword_access_review"], "onepassword_access_review")
    records, revisions = _table(data, "ds_reviews"), _table(data, "ds_review_revisions")
    log, tracked = _table(data, "ds_review_history"), _table(data, "ds_review_conf_changes")
    assert records and revisions and log and tracked
    for record in records:
        mine = sorted((r for r in revisions if r["record"] == record["review"]), key=lambda r: int(r["revision"]))
        assert [r["revision"] for r in mine] == [str(n) for n in range(1, len(mine) + 1)]
        first, last = mine[0], mine[-1]
        assert (record["revision"], record["updated_by"], record["updated_at"]) == (last["revision"], last["user"],
                                                                                   last["at"])
        assert (record["recorded_by"], record["recorded_at"]) == (first["user"], first["at"])
        assert record["status"] == ("withdrawn" if last["change"] == "withdraw" else "active")
        for field in ("quarter", "reviewer", "review_date", "scope", "outcome", "findings"):
            assert record[field] == last[field], field
        for revision in mine:
            assert revision["base_revision"] == ("" if revision["revision"] == "1" else str(int(revision["revision"]) - 1))
            saved = [e for e in log if e["record"] == revision["record"] and e["revision"] == revision["revision"]
                     and e["note"] == "saved revision " + revision["revision"]]
            assert len(saved) == 1 and (saved[0]["splunk_user"], saved[0]["time"], saved[0]["change"]) == (
                revision["user"], revision["at"], revision["change"])
            assert any(t["record"] == revision["record"] and t["time"] == revision["at"] for t in tracked)
    for entry in log:  # field rows carry the values of the revisions they belong to
        if entry["field"]:
            revision = next(r for r in revisions if r["record"] == entry["record"] and r["revision"] == entry["revision"])
            shown = stub_rows.OUTCOME_LABELS.get(entry["new_value"], entry["new_value"])
            assert revision[entry["field"]] == shown


def _tables():
    for name, definition in sorted(DEFINITIONS.items()):
        for ds_id, table in stub_rows.stub_data(definition, name).items():
            yield name, ds_id, _table({ds_id: table}, ds_id)


def test_rates_counts_and_lags_agree_within_each_row():
    """What a panel computes from its own columns is what the screenshot shows: a failure rate is
    failures over the total, requests are the statuses added up (so ok <= requests), events per run
    are events over runs, a lag is "now" minus the newest event, a run is not older than the newest
    event it wrote."""
    checked = set()
    for name, ds_id, rows in _tables():
        for row in rows:
            total = next((n for n in ("attempts", "signins") if n in row), None)
            if "failure_rate" in row and total:
                assert int(row["failed"]) <= int(row[total])
                assert float(row["failure_rate"]) == round(100 * int(row["failed"]) / int(row[total]), 1), (name, ds_id)
                checked.add("failure_rate")
            for statuses in stub_rows.STATUS_COLUMNS:
                if "requests" in row and "ok" in row and all(n in row for n in statuses):
                    assert int(row["requests"]) == int(row["ok"]) + sum(int(row[n]) for n in statuses), (name, ds_id)
                    assert int(row["ok"]) <= int(row["requests"])
                    checked.add("requests")
            if "events_per_run" in row and "runs" in row:
                events = row.get("events", row.get("events_in_range"))
                assert abs(float(row["events_per_run"]) - float(events) / float(row["runs"])) < 0.06, (name, ds_id)
                checked.add("events_per_run")
            if row.get("newest_event"):
                newest = stub_rows._parse_time(row["newest_event"])
                for lag in ("lag_now", "lag"):
                    if lag in row:
                        hours, minutes, seconds = map(int, row[lag].split(":"))
                        assert hours * 3600 + minutes * 60 + seconds == (stub_rows.NOW - newest).total_seconds()
                        checked.add("lag")
                if row.get("last_run"):
                    assert row["last_run"] >= row["newest_event"], (name, ds_id)
    assert checked == {"failure_rate", "requests", "events_per_run", "lag"}


def test_the_off_hours_flag_follows_the_documented_rule():
    macro = dq.read_conf(os.path.join(dq.PACKAGE, "default", "macros.conf"))["onepassword_business_hours"]["definition"]
    days = re.search(r'"%w"\)\) >= (\d) AND tonumber\(strftime\(_time, "%w"\)\) <= (\d)', macro).groups()
    hours = re.search(r'"%H"\)\) >= (\d+) AND tonumber\(strftime\(_time, "%H"\)\) < (\d+)', macro).groups()
    assert (days, hours) == (("1", "5"), ("7", "20"))  # Monday to Friday, 07:00 to 19:59
    monday = stub_rows.NOW - stub_rows.dt.timedelta(days=4)  # NOW is a Friday
    for moment, business in ((monday.replace(hour=6, minute=59), False), (monday.replace(hour=7, minute=0), True),
                             (monday.replace(hour=19, minute=59), True), (monday.replace(hour=20, minute=0), False),
                             (monday.replace(hour=12) - stub_rows.dt.timedelta(days=1), False)):
        assert stub_rows.business_hours(moment) is business, moment
    flagged = [row for name, ds_id, rows in _tables() for row in rows if "off_hours" in row and "time" in row]
    assert flagged
    for row in flagged:
        assert row["off_hours"] == ("no" if stub_rows.business_hours(stub_rows._parse_time(row["time"])) else "yes")


@pytest.mark.parametrize("name, total_ds, listed_ds, sums",
                         [(n, t, listed, sums) for (n, t), (listed, sums) in sorted(stub_rows.TOTALS.items())])
def test_a_total_is_the_sum_of_the_rows_it_counts(name, total_ds, listed_ds, sums):
    """Where the panel lists every row it counts (fewer rows than its head), its total equals their sum."""
    data = stub_rows.stub_data(DEFINITIONS[name], name)
    (total,) = _table(data, total_ds)
    listed = [r for r in _table(data, listed_ds) if not stub_rows.NOT_COUNTED.get(listed_ds, lambda row: False)(r)]
    head = re.search(r"\| head (\d+)", DEFINITIONS[name]["dataSources"][listed_ds]["options"]["query"])
    assert not head or len(_table(data, listed_ds)) < int(head.group(1))
    for column, summed in sums.items():
        assert int(total[column]) == sum(int(float(r[summed])) for r in listed), column


def test_the_rules_new_fields_agree_with_what_the_rules_compute():
    """Suspicious Admin Sign-in rows score their reasons as the rule does (its eval of risk_score,
    read from savedsearches.conf) and name the user in the one risk_user_<score> of that score;
    Item Access Surge rows show one hour as _time, surge_start (epoch) and hour, and pass the
    threshold the rule computes from the item-surge macros."""
    rule = stub_rows.SAVED["1Password - Suspicious Admin Sign-in - Rule"]["search"]
    cap, base, step = map(int, re.search(
        r"risk_score=min\((\d+), (\d+) \+ (\d+) \* \(reason_count - 1\)\)", rule).groups())
    macros = dq.read_conf(os.path.join(dq.PACKAGE, "default", "macros.conf"))
    surge_min, sigma = (float(macros[f"onepassword_item_surge_{n}"]["definition"]) for n in ("min", "sigma"))
    scored = surges = 0
    for name, ds_id, rows in _tables():
        for row in rows:
            if "risk_score" in row and "reason_count" in row:
                reasons = row["reasons"] if isinstance(row["reasons"], list) else [row["reasons"]]
                assert row["reason_count"] == str(len(reasons))
                score = min(cap, base + step * (len(reasons) - 1))
                assert row["risk_score"] == str(score), (name, ds_id)
                named = {field: value for field, value in row.items() if field.startswith("risk_user_") and value}
                assert named == {f"risk_user_{score}": row["user"]}, (name, ds_id)
                scored += 1
            if "surge_start" in row:
                start = stub_rows.dt.datetime.fromtimestamp(int(row["surge_start"]), stub_rows.dt.timezone.utc)
                assert (start.minute, start.second) == (0, 0)
                assert row["_time"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
                assert row["hour"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
                threshold = max(surge_min, float(row["baseline_avg"]) + sigma * float(row["baseline_stdev"]))
                assert row["surge_threshold"] == f"{threshold:.1f}" and int(row["items"]) >= threshold, (name, ds_id)
                surges += 1
    assert scored and surges


def test_a_copied_field_shows_its_source_value_unless_the_source_changes_after():
    spl = ("`onepassword_signin_events` | stats max(n) as peak count as attempts by src"
           " | eval failures=peak, first=attempts | eval attempts=attempts * 2 | table src peak failures attempts first")
    definition = {"dataSources": {"ds": {"type": "ds.search", "options": {"query": spl}}}}
    rows = _table(stub_rows.stub_data(definition, "copies"), "ds")
    assert rows
    assert all(row["failures"] == row["peak"] for row in rows)
    assert any(row["first"] != row["attempts"] for row in rows)
