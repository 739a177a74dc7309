"""docs/admin.md's sizing figures are measurements of the events in this repository and
arithmetic on them: measured again here, so the guide cannot drift from the samples."""

import json
import os
import re
import statistics

import pytest

from cim_mapping import ROOT
from test_samples import _events

GUIDE = open(os.path.join(ROOT, "docs", "admin.md"), encoding="utf-8").read()
TYPES = ("signin_attempts", "item_usages", "audit_events")
STREAMS = ("signinattempts", "itemusages", "auditevents")


def _row(first_cell):
    """The cells after the first of the table row whose first cell starts with first_cell
    (or is it, when a row's first cell is a prefix of another's)."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in GUIDE.splitlines()
            if line.startswith("| ")]
    matching = [row for row in rows if row[0] == first_cell] or [row for row in rows if row[0].startswith(first_cell)]
    (row,) = matching
    return row[1:]


def _sizes(texts):
    return [len(text.encode("utf-8")) for text in texts]


@pytest.mark.parametrize("row, prefix", [("`samples/1password_*.xml`", "1password_"),
                                         ("`samples/onepassword_app_*.xml`", "onepassword_app_")])
def test_sample_medians_are_measured(row, prefix):
    stated = _row(row)
    for cell, kind in zip(stated, TYPES):
        sizes = _sizes(event["raw"] for event in _events("%s%s.xml" % (prefix, kind)))
        assert cell == "%d (%d)" % (statistics.median(sizes), len(sizes)), kind


def test_peer_sample_medians_are_measured():
    stated = _row("peers' published samples")
    folder = os.path.join(ROOT, "samples", "peer")
    for cell, stream in zip(stated, STREAMS):
        sizes = []
        for name in sorted(os.listdir(folder)):
            if name.endswith("_%s.json" % stream):
                items = json.load(open(os.path.join(folder, name), encoding="utf-8"))
                sizes += _sizes(json.dumps(item, separators=(",", ":"), ensure_ascii=False)
                                for item in (items if isinstance(items, list) else [items]))
        assert cell == "%d (%d)" % (statistics.median(sizes), len(sizes)), stream


def _simulator_means():
    from simulator import EventsApiSimulator

    sim = EventsApiSimulator(seed=1, signinattempts=5000, itemusages=5000, auditevents=5000)
    return [round(statistics.mean(_sizes(sim.items(stream)))) for stream in STREAMS]


def test_simulator_means_and_the_daily_arithmetic():
    means = _simulator_means()
    assert _row("the simulator's events") == ["**%d**" % mean for mean in means]
    for level, rates in (("typical", _row("typical")), ("heavy", _row("heavy (password-intensive"))):
        per_user = [float(rate) for rate in rates]
        events = sum(rate * 1000 for rate in per_user)
        megabytes = sum(rate * 1000 * mean for rate, mean in zip(per_user, means)) / 1e6
        assert ("**%s events**" % format(round(events), ",")) in _row("%s events" % level)
        assert _row("%s bytes" % level)[-1] == "**%.1f MB = %.3f GB/day**" % (megabytes, megabytes / 1000)
        for cell, rate, mean in zip(_row("%s bytes" % level), per_user, means):
            assert re.match(r"[\d,]+ × %d = %.2f MB" % (mean, rate * 1000 * mean / 1e6), cell), cell
