"""Every data-source search of every dashboard, ready to run against a live Splunk.

tests/dashboards/dashboard_queries.py lists the searches with tokens at their inputs'
defaults; what is left are drilldown row tokens ($row.<field>.value$), which exist only
when someone clicks a row. A click takes the row from the visualization's primary data
source, so the suite runs that search first and fills the tokens from its first row
that has every field the drilldown needs.
"""

import os
import re
import sys

from .settings import ROOT

DASHBOARDS_DIR = os.path.join(ROOT, "tests", "dashboards")
if DASHBOARDS_DIR not in sys.path:
    sys.path.insert(0, DASHBOARDS_DIR)

import dashboard_queries  # noqa: E402

ROW_TOKEN = re.compile(r"\Arow\.(.+)\.value\Z")  # a token name such as row.user.value

# Searches that cannot return rows on a stack without Enterprise Security, and why.
EMPTY_ALLOWED = {
    ("onepassword_high_risk", "ds_risk"): "reads the risk index, which only Enterprise Security fills",
}


def queries():
    return dashboard_queries.queries()


def definitions():
    return dashboard_queries.load_all()


def row_tokens(spl):
    """Fields of the $row.<field>.value$ tokens (with or without a filter such as |s)."""
    fields = set()
    for name in dashboard_queries.tokens_in(spl or ""):
        match = ROW_TOKEN.match(name)
        if match:
            fields.add(match.group(1))
    return sorted(fields)


def drilldown_source(definitions_by_dashboard, entry):
    """The data source id whose rows a drilldown click reads (the viz's primary source)."""
    viz_id = entry["id"].split(":", 1)[0]
    viz = definitions_by_dashboard[entry["dashboard"]]["visualizations"][viz_id]
    return viz.get("dataSources", {}).get("primary")


def first_usable_row(rows, fields):
    for row in rows:
        if all(row.get(f) not in (None, "", []) for f in fields):
            return row
    return None


def fill_row_tokens(spl, row):
    """Replace $row.<field>.value$ (and $row.<field>.value|s$) with the row's value, as a
    click does (first value of a multivalue field)."""
    values = {}
    for field in row_tokens(spl):
        value = row[field]
        values["row.%s.value" % field] = value[0] if isinstance(value, list) else value
    return dashboard_queries.substitute(spl, values)


def entry_id(entry):
    return "%s:%s" % (entry["dashboard"], entry["id"])


def unresolved_tokens(spl):
    """Tokens still in a search after substitution ($$ is a literal dollar sign)."""
    return [m.group(0) for m in dashboard_queries.TOKEN.finditer((spl or "").replace("$$", ""))]
