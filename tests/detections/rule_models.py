"""Python models of the detection rules, to prove here (without Splunk) that every attack
scenario crosses its rule's thresholds and every benign twin stays under them.

Each model follows its saved search step by step (tstats filters and by-fields, sliding
windows of streamstats time_window, baselines, lookups) on events that went through the
add-on's real search-time mapping (tests/knowledge/cim_mapping.py: props, lookups,
eventtypes, tags). Thresholds, windows and code lists are read from macros.conf (with the
scenario's macro overrides), customer lists from the package's lookups plus the scenario's
fixture rows, and time ranges from the saved search's dispatch settings. The real fire /
silence run is the dockerized suite's (it replays the same scenarios into Splunk).
"""

import ipaddress
import math
import re
import time
from collections import defaultdict

import detections_lib as lib
import replay

BUSINESS_HOURS_DEFAULT = ('(tonumber(strftime(_time, "%w")) >= 1 AND tonumber(strftime(_time, "%w")) <= 5 AND '
                          'tonumber(strftime(_time, "%H")) >= 7 AND tonumber(strftime(_time, "%H")) < 20)')
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8")]


class Context:
    """One rule run: its settings, macros, lookups, time range and the mapped events."""

    def __init__(self, settings, macro_table, lookup_rows, now, events):
        self.settings = settings
        self.macro_table = macro_table
        self.lookup_rows = lookup_rows
        self.transforms = lib.transforms()
        self.now = now
        self.earliest = replay.relative_time(now, settings["dispatch.earliest_time"])
        self.latest = replay.relative_time(now, settings["dispatch.latest_time"])
        self.info_max_time = self.latest
        self.all_events = events
        self.events = [e for e in events if self.earliest <= e["_time"] < self.latest]

    # macros
    def macro(self, name):
        return lib.expand_macros(self.macro_table[name]["definition"], self.macro_table).strip()

    def num(self, name):
        return float(self.macro(name))

    def duration(self, name):
        return replay.duration_seconds(self.macro(name))

    def codes(self, name):
        return re.findall(r'"([^"]*)"', self.macro(name))

    # lookups
    def lookup(self, name, column, value):
        """First matching row, as Splunk's lookup with max_matches = 1."""
        if value is None:
            return None
        spec = self.transforms[name]
        match_type = spec.get("match_type", "")
        case = spec.get("case_sensitive_match", "true").lower() in ("1", "true")
        for row in self.lookup_rows[name]:
            pattern = row.get(column, "")
            if "CIDR(%s)" % column in match_type:
                try:
                    if ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False):
                        return row
                except ValueError:
                    continue
            elif "WILDCARD(%s)" % column in match_type:
                regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
                if re.match(regex, value, 0 if case else re.IGNORECASE):
                    return row
            elif (pattern == value) if case else (pattern.lower() == value.lower()):
                return row
        return None

    # data sets
    def signins(self):
        return [e for e in self.events if e["sourcetype"] == replay.TYPES["signin"][1]
                and "authentication" in e["tags"] and e.get("app") == "1password"]

    def items(self):
        return [e for e in self.events if e["sourcetype"] == replay.TYPES["item"][1]
                and {"data", "access"} <= e["tags"] and e.get("vendor_product") == "1Password"]

    def audits(self):
        return [e for e in self.events if e["sourcetype"] == replay.TYPES["audit"][1]]

    def changes(self):
        return [e for e in self.audits() if "change" in e["tags"] and e.get("vendor_product") == "1Password"]

    def logs(self):
        return [e for e in self.events if e["sourcetype"] == "input_log"]


def tstats(rows, by):
    """tstats ... by <fields>: rows missing a by-field are dropped; groups {key: [rows]}."""
    groups = defaultdict(list)
    for row in rows:
        key = tuple(row.get(field) for field in by)
        if any(value is None for value in key):
            continue
        groups[key].append(row)
    return groups


def minute(t, span=60):
    return t - t % span


def sliding_peak(rows, window_s, measure):
    """max over rows r of measure(rows r' with r.t - window < r'.t <= r.t): streamstats
    time_window over time-sorted rows, then the maximum (eventstats max)."""
    best = 0
    for row in rows:
        inside = [other for other in rows if row["t"] - window_s < other["t"] <= row["t"]]
        best = max(best, measure(inside))
    return best


def haversine_km(lat1, lon1, lat2, lon2):
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    hav = math.sin(dlat / 2) ** 2 + math.cos(rlat1) * math.cos(rlat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371 * math.atan2(math.sqrt(hav), math.sqrt(1 - hav))


def business_hours(ctx, t):
    definition = ctx.macro("onepassword_business_hours")
    if definition == "true()":
        return True
    if definition == "false()":
        return False
    assert definition == BUSINESS_HOURS_DEFAULT, "model knows only the default, true() and false(): %s" % definition
    tm = time.gmtime(t)
    weekday = (tm.tm_wday + 1) % 7
    return 1 <= weekday <= 5 and 7 <= tm.tm_hour < 20


def _mean_stdev(values):
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def lower(value):
    return value.lower() if isinstance(value, str) else value


def nonempty(*values):
    for value in values:
        if value not in (None, ""):
            return value
    return None


# ------------------------------------------------------------------ sign-in rules
def _failure_minutes(ctx, extra=None, by=("src", "user", "signature_id", "dest")):
    rows = [e for e in ctx.signins() if e.get("action") == "failure" and (extra is None or extra(e))]
    out = []
    for key, group in tstats([dict(e, t=minute(e["_time"])) for e in rows], ("t",) + tuple(by)).items():
        out.append(dict(zip(("t",) + tuple(by), key), count=len(group)))
    return out


def brute_force_ip(ctx):
    rows = [r for r in _failure_minutes(ctx) if r["src"] != "unknown"]
    results = []
    for src, group in _group(rows, "src").items():
        peak = sliding_peak(group, ctx.duration("onepassword_bruteforce_window"), lambda rs: sum(r["count"] for r in rs))
        if peak >= ctx.num("onepassword_bruteforce_threshold"):
            results.append({"src": src, "user": sorted({r["user"] for r in group}), "failures": sum(r["count"] for r in group),
                            "peak_failures": peak})
    return results


def brute_force_user(ctx):
    rows = [r for r in _failure_minutes(ctx, by=("user", "src", "signature_id", "dest")) if r["user"] != "unknown"]
    results = []
    for user, group in _group(rows, "user").items():
        peak = sliding_peak(group, ctx.duration("onepassword_user_failure_window"), lambda rs: sum(r["count"] for r in rs))
        if peak >= ctx.num("onepassword_user_failure_threshold"):
            results.append({"user": user, "src": sorted({r["src"] for r in group}), "failures": sum(r["count"] for r in group),
                            "peak_failures": peak})
    return results


def password_spray_ip(ctx):
    rows = [r for r in _failure_minutes(ctx) if r["src"] != "unknown"]
    results = []
    for src, group in _group(rows, "src").items():
        peak = sliding_peak(group, ctx.duration("onepassword_spray_window"), lambda rs: len({r["user"] for r in rs}))
        if peak >= ctx.num("onepassword_spray_min_users"):
            results.append({"src": src, "user": sorted({r["user"] for r in group}), "peak_users": peak})
    return results


def success_after_failures(ctx):
    rows = [dict(e, t=minute(e["_time"])) for e in ctx.signins() if e.get("action") in ("success", "failure")]
    bins = [dict(zip(("t", "src", "user", "action", "dest"), key), count=len(group))
            for key, group in tstats(rows, ("t", "src", "user", "action", "dest")).items()]
    bins = [b for b in bins if b["src"] != "unknown"]
    window = ctx.duration("onepassword_success_after_failures_window")
    results = {}
    for src, group in _group(bins, "src").items():
        for row in group:
            if row["action"] != "success":
                continue
            prior = sum(r["count"] for r in group if r["action"] == "failure" and row["t"] - window < r["t"] <= row["t"])
            if prior >= ctx.num("onepassword_success_after_failures_min"):
                results[(src, row["user"])] = {"src": src, "user": row["user"], "prior_failures": prior}
    return list(results.values())


def impossible_travel(ctx):
    points = []
    for e in ctx.signins():
        if e.get("action") != "success" or e.get("src") in (None, "unknown"):
            continue
        lat, lon = e.get("src_lat"), e.get("src_long")       # iplocation fallback: not modelled (documentation IPs)
        if lat in (None, "") or lon in (None, ""):
            continue
        try:
            address = ipaddress.ip_address(e["src"])
            if any(address in network for network in PRIVATE if address.version == network.version):
                continue
        except ValueError:
            pass
        if ctx.lookup("onepassword_trusted_networks", "cidr", e["src"]):
            continue
        points.append(dict(e, lat=float(lat), lon=float(lon), city=e.get("src_city", "unknown")))
    results = []
    for user, group in _group(points, "user").items():
        group.sort(key=lambda p: p["_time"])
        for prev, cur in zip(group, group[1:]):
            if cur["src"] == prev["src"]:
                continue
            distance = haversine_km(prev["lat"], prev["lon"], cur["lat"], cur["lon"])
            speed = distance / (max(cur["_time"] - prev["_time"], 60) / 3600)
            if distance > ctx.num("onepassword_travel_min_km") and speed > ctx.num("onepassword_travel_max_kmh"):
                results.append({"user": user, "src": cur["src"], "prev_src": prev["src"], "city": cur["city"],
                                "prev_city": prev["city"], "distance_km": round(distance, 1), "speed_kmh": round(speed, 1)})
    return results


def suspicious_admin_signin(ctx):
    events = [e for e in ctx.signins() if e.get("action") == "success" and e.get("user_role")]
    window_start = ctx.info_max_time - ctx.num("onepassword_recent_window_s")
    results = {}
    for user, group in _group(events, "user").items():
        for e in group:
            e["country"] = e.get("src_country") or "unknown"
            e["client"] = (e.get("authentication_service") or "unknown") + " on " + (e.get("client.os_name") or "unknown")
        baseline = sum(1 for e in group if e["_time"] < window_start)
        country_first = {c: min(e["_time"] for e in group if e["country"] == c) for c in {e["country"] for e in group}}
        client_first = {c: min(e["_time"] for e in group if e["client"] == c) for c in {e["client"] for e in group}}
        minimum = ctx.num("onepassword_baseline_min_signins")
        for e in group:
            if e["_time"] < window_start:
                continue
            reasons = []
            if not business_hours(ctx, e["_time"]):
                reasons.append("outside business hours")
            if baseline >= minimum and country_first[e["country"]] >= window_start:
                reasons.append("country new for this admin: " + e["country"])
            if baseline >= minimum and client_first[e["client"]] >= window_start:
                reasons.append("client new for this admin: " + e["client"])
            if reasons:
                result = results.setdefault((user, e["src"]), {"user": user, "src": e["src"], "reasons": set()})
                result["reasons"].update(reasons)
    return list(results.values())


def new_country_signin(ctx):
    events = [e for e in ctx.signins() if e.get("action") == "success" and e.get("src_country")
              and not ctx.lookup("onepassword_trusted_networks", "cidr", e.get("src"))]
    window_start = ctx.info_max_time - ctx.num("onepassword_recent_window_s")
    results = {}
    for user, group in _group(events, "user").items():
        baseline = [e for e in group if e["_time"] < window_start]
        for e in group:
            first = min(x["_time"] for x in group if x["src_country"] == e["src_country"])
            if e["_time"] >= window_start and first >= window_start and len(baseline) >= ctx.num("onepassword_baseline_min_signins"):
                results[(user, e["src_country"])] = {"user": user, "country": e["src_country"],
                                                     "known_countries": sorted({b["src_country"] for b in baseline})}
    return list(results.values())


def _burst_by_user(ctx, signature_id, threshold, window):
    rows = [r for r in _failure_minutes(ctx, lambda e: e.get("signature_id") == signature_id, ("user", "src", "reason", "dest"))
            if r["user"] != "unknown"]
    results = []
    for user, group in _group(rows, "user").items():
        peak = sliding_peak(group, ctx.duration(window), lambda rs: sum(r["count"] for r in rs))
        if peak >= ctx.num(threshold):
            results.append({"user": user, "failures": sum(r["count"] for r in group), "peak_failures": peak})
    return results


def mfa_failure_burst(ctx):
    return _burst_by_user(ctx, "mfa_failed", "onepassword_mfa_failure_threshold", "onepassword_mfa_failure_window")


def firewall_block_burst(ctx):
    return _burst_by_user(ctx, "firewall_failed", "onepassword_firewall_block_threshold", "onepassword_firewall_block_window")


def firewall_report_only_success(ctx):
    rows = [e for e in ctx.signins() if e.get("signature_id") == "firewall_reported_success"]
    return [{"user": user, "src": src} for user, src, _ in tstats(rows, ("user", "src", "dest"))]


def unusual_client_app(ctx):
    groups = tstats(ctx.signins(), ("user", "src", "authentication_service", "dest"))
    return [{"user": user, "src": src, "authentication_service": app} for user, src, app, _ in groups
            if not ctx.lookup("onepassword_allowed_client_apps", "app_name", app)]


def session_multiple_ips(ctx):
    rows = [{"session_id": s, "src": src, "user": u} for s, src, u, _ in
            tstats([e for e in ctx.signins() if e.get("session_id")], ("session_id", "src", "user", "dest"))]
    rows += [{"session_id": s, "src": src, "user": u} for s, src, u, _ in
             tstats([e for e in ctx.audits() if e.get("session.uuid")], ("session_id", "src", "src_user", "dest"))]
    results = []
    for session, group in _group([r for r in rows if r["src"] not in (None, "unknown")], "session_id").items():
        networks, untrusted = set(), set()
        for row in group:
            trusted = ctx.lookup("onepassword_trusted_networks", "cidr", row["src"])
            networks.add("trusted network " + trusted["label"] if trusted else row["src"])
            if not trusted:
                untrusted.add(row["src"])
        if len(networks) >= ctx.num("onepassword_session_min_ips") and untrusted:
            results.append({"session_id": session, "src": sorted({r["src"] for r in group}),
                            "user": sorted({r["user"] for r in group})})
    return results


# ------------------------------------------------------------------ access and grants
def _grant_info(ctx, e):
    row = ctx.lookup("onepassword_grant_actions", "signature_id", e.get("signature_id"))
    return (row["access_change"], row["scope"]) if row else (None, None)


def vault_grant_burst(ctx):
    rows = []
    for e in ctx.audits():
        if e.get("object_type") not in ("uva", "gva"):
            continue
        change, scope = _grant_info(ctx, e)
        if scope == "vault" and change in ("grant", "modify"):
            rows.append(dict(e, t=e["_time"]))
    results = []
    for actor, group in _group(rows, "src_user").items():
        peak = sliding_peak(group, ctx.duration("onepassword_grant_window"), len)
        if peak >= ctx.num("onepassword_grant_threshold"):
            results.append({"src_user": actor, "grants": len(group), "peak_grants": peak})
    return results


def _ids(e):
    actor = lower(nonempty(e.get("actor_uuid"), e.get("actor_details.uuid")))
    grantee = lower(nonempty(e.get("aux_uuid"), e.get("aux_details.uuid")))
    return actor, grantee


def self_granted_access(ctx):
    events = [e for e in ctx.audits() if
              (e.get("object_type") in ("uva", "gm") and e.get("command") in ("grant", "update", "join", "role")) or
              (e.get("object_type") in ("vault", "group") and e.get("command") == "create")]
    created = defaultdict(list)
    for e in events:
        if e.get("command") == "create":
            created[e.get("object_uuid")].append((e["_time"], _ids(e)[0]))
    results = {}
    for e in events:
        change, _ = _grant_info(ctx, e)
        actor, grantee = _ids(e)
        if change not in ("grant", "modify") or actor is None or actor != grantee:
            continue
        creations = created.get(e.get("object_uuid"), [])
        if creations:
            first = min(t for t, _ in creations)
            if actor in {a for _, a in creations} and abs(e["_time"] - first) <= ctx.num("onepassword_self_grant_creation_grace_s"):
                continue
        results[(e["src_user"], e["object_type"], e["object_id"])] = {
            "src_user": e["src_user"], "object_type": e["object_type"], "object_id": e["object_id"]}
    return list(results.values())


def privileged_group_add(ctx):
    rows = [e for e in ctx.changes() if "account" in e["tags"] and e.get("command") in ("join", "role")]
    results = []
    for actor, user, object_id, command, _ in tstats(rows, ("src_user", "user", "object_id", "command", "dest")):
        group = ctx.lookup("onepassword_privileged_groups", "group_uuid", object_id)
        if group:
            results.append({"src_user": actor, "user": user, "object_id": object_id, "group_name": group["group_name"]})
    return results


def privileged_vault_permission_changed(ctx):
    results = {}
    for e in ctx.audits():
        if e.get("object_type") not in ("uva", "gva") or _grant_info(ctx, e)[1] != "vault":
            continue
        vault = ctx.lookup("onepassword_privileged_vaults", "vault_uuid", e.get("object_uuid"))
        if vault:
            results[(e["src_user"], e["object_uuid"])] = {"src_user": e["src_user"], "object_uuid": e["object_uuid"],
                                                        "vault_name": vault["vault_name"]}
    return list(results.values())


def _hourly_items(ctx, rows):
    """tstats dc(object_id) ... by _time span=1h user (with item_actions = values(signature_id))."""
    access = set(ctx.codes("onepassword_access_actions"))
    rows = [dict(e, t=minute(e["_time"], 3600)) for e in rows if e.get("action") in access]
    out = []
    for (t, user), group in tstats(rows, ("t", "user")).items():
        out.append({"t": t, "user": user, "items": len({r["object_id"] for r in group}),
                    "item_actions": {r["signature_id"] for r in group}})
    return out


def item_access_surge(ctx):
    window_start = ctx.info_max_time - ctx.num("onepassword_recent_window_s")
    results = []
    for user, hours in _group(_hourly_items(ctx, ctx.items()), "user").items():
        mean, stdev = _mean_stdev([h["items"] for h in hours if h["t"] < window_start])
        for h in hours:
            if h["t"] >= window_start and h["items"] >= ctx.num("onepassword_item_surge_min") and \
                    h["items"] > mean + ctx.num("onepassword_item_surge_sigma") * stdev:
                results.append({"user": user, "items": h["items"], "baseline_avg": mean, "baseline_stdev": stdev})
    return results


def departing_user_surge(ctx):
    window_start = ctx.info_max_time - ctx.num("onepassword_recent_window_s")
    results = []
    for user, hours in _group(_hourly_items(ctx, ctx.items()), "user").items():
        if not ctx.lookup("onepassword_departing_users", "user", user):
            continue
        mean, stdev = _mean_stdev([h["items"] for h in hours if h["t"] < window_start])
        for h in hours:
            if h["t"] < window_start:
                continue
            reasons = []
            if h["items"] >= ctx.num("onepassword_departing_item_min") and h["items"] > mean + ctx.num("onepassword_departing_sigma") * stdev:
                reasons.append("accessed %d items in one hour" % h["items"])
            if h["item_actions"] & {"export", "share"}:
                reasons.append("exported or shared items")
            if reasons:
                results.append({"user": user, "items": h["items"], "reasons": reasons})
    return results


def sensitive_item_accessed(ctx):
    results = []
    for user, object_id, parent, _ in tstats(ctx.items(), ("user", "object_id", "parent_object_id", "dest")):
        item = ctx.lookup("onepassword_sensitive_items", "item_uuid", object_id)
        vault = ctx.lookup("onepassword_privileged_vaults", "vault_uuid", parent)
        if item or vault:
            results.append({"user": user, "object_id": object_id, "parent_object_id": parent})
    return results


def self_grant_then_extraction(ctx):
    grants = []
    for e in ctx.audits():
        if e.get("object_type") != "uva" or _grant_info(ctx, e)[0] not in ("grant", "modify"):
            continue
        actor, grantee = _ids(e)
        if actor is not None and actor == grantee:
            grants.append({"user_id": grantee, "vault_id": lower(e.get("object_uuid")), "t": e["_time"], "src_user": e["src_user"]})
    extraction = set(ctx.codes("onepassword_extraction_actions"))
    uses = [dict(e, t=minute(e["_time"])) for e in ctx.items() if e.get("signature_id") in extraction]
    results = {}
    for (t, user_id, vault_id, user), group in tstats(uses, ("t", "user_id", "parent_object_id", "user")).items():
        key = (lower(user_id), lower(vault_id))
        times = [g["t"] for g in grants if (g["user_id"], g["vault_id"]) == key]
        if not times:
            continue
        granted = min(times)
        if minute(granted) <= t <= granted + ctx.num("onepassword_extraction_window_s"):
            result = results.setdefault(key, {"user_id": key[0], "vault_id": key[1], "user": user, "item_uses": 0})
            result["item_uses"] += len(group)
    return list(results.values())


# ------------------------------------------------------------------ audit changes
def _changes(ctx, commands_macro, object_category=None):
    commands = set(ctx.codes(commands_macro)) if commands_macro else None
    rows = [e for e in ctx.changes() if (commands is None or e.get("command") in commands)
            and (object_category is None or e.get("object_category") == object_category)]
    return [{"user": u, "src": s, "command": c, "object_category": oc}
            for u, s, c, oc, _ in tstats(rows, ("user", "src", "command", "object_category", "dest"))]


def sso_config_changed(ctx):
    return _changes(ctx, "onepassword_sso_change_commands")


def firewall_rules_changed(ctx):
    return _changes(ctx, "onepassword_firewall_change_commands")


def account_mfa_changed(ctx):
    return _changes(ctx, "onepassword_account_mfa_commands", "account")


def user_mfa_changed(ctx):
    commands = set(ctx.codes("onepassword_user_mfa_commands"))
    results = {}
    for e in ctx.audits():
        if e.get("command") not in commands or e.get("object_type") == "account":
            continue
        actor = lower(nonempty(e.get("actor_uuid"), e.get("actor_details.uuid")))
        same = lower(e.get("src_user")) == lower(e.get("user")) or (actor is not None and actor == lower(e.get("user_id")))
        if e["command"] == "enblmfa" and same:
            continue
        results[(e["user"], e["src_user"])] = {"user": e["user"], "src_user": e["src_user"]}
    return list(results.values())


def vault_export(ctx):
    rows = [e for e in ctx.changes() if e.get("command") == "export" and e.get("object_category") == "vault"]
    return [{"user": u, "src": s} for u, s, _ in tstats(rows, ("user", "src", "dest"))]


def export_after_account_creation(ctx):
    rows = [e for e in ctx.changes() if (e.get("command") == "export" and e.get("object_category") == "vault") or
            (e.get("command") in ("activate", "provsn") and e.get("object_category") == "user")]
    rows = [r for r in rows if all(r.get(f) is not None for f in ("user", "command", "object_id", "src", "dest"))]
    results = []
    for user, group in _group(rows, "user").items():
        created = [r["_time"] for r in group if r["command"] != "export"]
        exports = [r["_time"] for r in group if r["command"] == "export"]
        if not created or not exports:
            continue
        created_at, last_export = min(created), max(exports)
        if last_export >= ctx.info_max_time - ctx.num("onepassword_recent_window_s") and last_export >= created_at and \
                last_export - created_at <= ctx.num("onepassword_new_account_days") * 86400:
            results.append({"user": user, "account_age_days": round((last_export - created_at) / 86400, 1)})
    return results


def export_before_departure(ctx):
    rows = [e for e in ctx.audits() if (e.get("command") == "export" and e.get("object_type") == "vault") or
            (e.get("command") in ("suspend", "delete") and e.get("object_type") == "user")]
    results = []
    for person, group in _group([dict(r, person=lower(r.get("user"))) for r in rows], "person").items():
        departed = [r["_time"] for r in group if r["command"] != "export"]
        exports = [r["_time"] for r in group if r["command"] == "export"]
        if not departed or not exports:
            continue
        departed_at, last_export = max(departed), max(exports)
        if departed_at >= ctx.info_max_time - ctx.num("onepassword_recent_window_s") and last_export <= departed_at and \
                departed_at - last_export <= ctx.num("onepassword_export_before_departure_days") * 86400:
            results.append({"user": person, "days_between": round((departed_at - last_export) / 86400, 1)})
    return results


def service_account_created(ctx):
    rows = [e for e in ctx.changes() if e.get("command") == "create" and e.get("object_category") == "service_account"]
    return [{"user": u, "src": s} for u, s, _ in tstats(rows, ("user", "src", "dest"))]


def service_account_token_activity(ctx):
    commands = set(ctx.codes("onepassword_sa_token_commands"))
    rows = [e for e in ctx.changes() if e.get("command") in commands and e.get("object_category") == "token"]
    return [{"user": u, "src": s, "command": c} for u, s, c, _ in tstats(rows, ("user", "src", "command", "dest"))]


def invite_outside_provisioning(ctx):
    results = {}
    for e in ctx.audits():
        if e.get("command") == "create" and e.get("object_type") == "invite" and \
                not ctx.lookup("onepassword_provisioning_actors", "actor", e.get("src_user")):
            results[(e["src_user"], e["user"])] = {"src_user": e["src_user"], "user": e["user"]}
    return list(results.values())


def _audit_commands(ctx, macro):
    commands = set(ctx.codes(macro))
    results = {}
    for e in ctx.audits():
        if e.get("command") in commands:
            results[(e["user"], e["src_user"])] = {"user": e["user"], "src_user": e["src_user"]}
    return list(results.values())


def account_recovery(ctx):
    return _audit_commands(ctx, "onepassword_recovery_commands")


def all_devices_deauthorized(ctx):
    return _audit_commands(ctx, "onepassword_device_deauth_commands")


# ------------------------------------------------------------------ collector health
def collector_stream_silent(ctx):
    thresholds = {
        replay.TYPES["signin"][1]: ctx.num("onepassword_health_signin_max_silence_s"),
        replay.TYPES["item"][1]: ctx.num("onepassword_health_itemusage_max_silence_s"),
        replay.TYPES["audit"][1]: ctx.num("onepassword_health_audit_max_silence_s"),
    }
    last = {}
    for e in ctx.events:
        if e["sourcetype"] in thresholds:
            key = (e["sourcetype"], e["source"])
            last[key] = max(last.get(key, 0), e["_time"])
    results = []
    for (sourcetype, source), at in last.items():
        silence = round(ctx.info_max_time - at)
        if silence > thresholds[sourcetype]:
            results.append({"account": re.sub(r"^1password:", "", source), "source": source, "sourcetype": sourcetype,
                            "silence_h": round(silence / 3600, 1)})
    return results


def collector_api_errors(ctx):
    fatal = set(ctx.codes("onepassword_health_fatal_categories"))
    counts = defaultdict(int)
    for e in ctx.logs():
        raw = e["_raw"]
        if "exc_l" not in raw:
            continue
        label = re.search(r'exc_l="([^"]+)"', raw)
        category = re.search(r" category=(\w+)", raw)
        category = category.group(1) if category else (label.group(1).replace(" Error", "").lower() if label else None)
        source_input = re.search(r"ta_1password_events_(.+)\.log", e["source"]).group(1)
        counts[(source_input, category)] += 1
    results = []
    for (source_input, category), errors in counts.items():
        threshold = 1 if category in fatal else ctx.num("onepassword_health_error_threshold")
        if errors >= threshold:
            results.append({"input": source_input, "error_category": category, "errors": errors})
    return results


def _group(rows, field):
    groups = defaultdict(list)
    for row in rows:
        groups[row.get(field)].append(row)
    groups.pop(None, None)
    return groups


def model(rule_id):
    """The model function of a rule id (the <id> of its onepassword_<id>_filter macro)."""
    function = globals().get(rule_id)
    if not callable(function) or rule_id.startswith("_"):
        raise KeyError("no model for rule %s" % rule_id)
    return function
