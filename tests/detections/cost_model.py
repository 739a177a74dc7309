"""Events read per day by the scheduled searches of savedsearches.conf, estimated from their
crons, windows and neighbourhoods and the event rates of a 10,000-user company
(docs/detections.md, "Cost"). The figures come from the real conf; the rates and the
sizes below are the documented assumptions."""

import re

import detections_lib as lib

DAY = 86400
USERS = 10000
RATES = {  # events a day at 10k users
    "onepassword_signin_events": 40000,
    "onepassword_itemusage_events": 300000,
    "onepassword_audit_events": 3000,
}
# How many distinct values a neighbourhood key takes in a day: the share of a source's events
# one key value carries is 1 / this number.
KEY_VALUES = {"user": USERS, "src": USERS, "src_user": USERS, "session_id": 40000, "object_uuid": 5000,
              "vault_id": 5000}
# Searches narrowed by a customer watch-list (admins, departing users, sensitive items,
# privileged vaults) read the events of at most this share of the users, items or vaults.
WATCHLIST_SHARE = 0.01
WATCHLISTS = re.compile(r"inputlookup onepassword_(admin_users|departing_users|sensitive_items|privileged_vaults)")


def runs_per_day(cron):
    return len(lib.cron_ticks(cron, lib.BASE_NOW, lib.BASE_NOW + DAY))


def sources(text):
    """The event sources a search reads (the event macros of its first clause)."""
    return [name for name in RATES if "`%s`" % name in text]


def parts(search):
    """(the main search's first clause, the new-event subsearch or None)."""
    head = search.split("\n", 1)[0]
    if "[search " not in head:
        return head, None
    main, sub = head.split("[search ", 1)
    return main, sub


def _rate(text):
    share = WATCHLIST_SHARE if WATCHLISTS.search(text) else 1.0
    return sum(RATES[s] for s in sources(text)) * share / DAY  # events a second


def estimate(spec):
    """(events read per run by the new-event selection, by the neighbourhood search, runs a day)."""
    search = spec["search"]
    runs = runs_per_day(spec["cron_schedule"])
    if search.lstrip().startswith("|"):
        return 0.0, 0.0, runs  # index summaries or KV records, no events
    main, sub = parts(search)
    if sub is None:
        return _rate(main) * (lib.window_seconds(spec) or 0), 0.0, runs
    selected = _rate(sub) * lib.new_slice_seconds(search)
    key, context = re.search(r"`onepassword_neighbourhood\((\w+), (\d+)\)`", sub).groups()
    context = int(context)
    # the neighbourhood: the span of the new events (the window), widened by the context on
    # both sides, its start snapped down to a multiple of the context; only the keys of the
    # new events, each carrying 1 / KEY_VALUES of the events
    span = lib.new_slice_seconds(search) + 3 * context
    keys = min(selected, KEY_VALUES[key])
    around = min(_rate(main) * span, keys * _rate(main) / KEY_VALUES[key] * span)
    if keys > int(lib.macros()["onepassword_neighbourhood_max_keys"]["definition"]):
        around = _rate(main) * span  # past the bound the span is read without key terms
    return selected, around, runs


def table():
    """[(name, runs a day, window s, events read a day)] for every rule, baseline and prune search."""
    rows = []
    for name, spec in lib.savedsearches().items():
        if name.endswith(lib.REPORT_SUFFIX):
            continue
        selected, around, runs = estimate(spec)
        rows.append((name, runs, lib.window_seconds(spec) or 0, round((selected + around) * runs)))
    return rows


def ingested():
    return sum(RATES.values())
