"""Deterministic, realistic Events API items for the simulator.

Every item is built once as compact JSON text (the API's own encoding: Go's
encoding/json, compact, UTF-8) and kept as text: the server only slices and
joins strings. To stay fast for large backlogs (1M events in a few seconds)
each stream draws from a pool of pre-serialized "profiles" (user, client,
location, category/action, ...) turned into %-templates; an item is its
profile's template filled with its own uuid(s) and timestamp.

Every documented enum value (events-api.md section 7) is used by the first
profiles, so any backlog of a few hundred events per stream holds all of them.
"""

import base64
from array import array
import json
import random
import time
import unicodedata

# -- enumerations, as documented (events-api.md section 7) -------------------
SIGNIN_CATEGORIES = (
    "success", "credentials_failed", "mfa_failed", "sso_failed", "modern_version_failed",
    "firewall_failed", "firewall_reported_success",
)
SIGNIN_TYPES = (
    "all_blocked", "anonymous_blocked", "code_bad", "code_disabled", "code_timeout", "continent_blocked",
    "country_blocked", "credentials_ok", "duo_bad", "duo_disabled", "duo_native_bad", "duo_timeout", "federated",
    "ip_blocked", "mfa_missing", "mfa_ok", "modern_version_missing", "modern_version_old", "non_sso_user",
    "password_secret_bad", "platform_secret_bad", "platform_secret_disabled", "platform_secret_proxy",
    "service_account_sso_denied", "sso_user_mismatch", "totp_bad", "totp_disabled", "totp_timeout", "u2f_bad",
    "u2f_disabled", "u2f_timeout",
    "u2f_timout",  # the OAS 1.2.0 spelling: clients must accept both
)
ITEM_ACTIONS = (
    "enter-item-edit-mode", "export", "fill", "other", "reveal", "secure-copy", "select-sso-provider",
    "server-create", "server-fetch", "server-update", "share",
)
AUDIT_ACTIONS = (
    "activate", "addgsso", "begin", "beginr", "cancel", "cancelr", "changeks", "changela", "changemp", "changenm",
    "changesk", "chngasso", "chngdsso", "chngpsso", "complete", "completr", "convert", "create", "dealldev",
    "delete", "delgsso", "delshare", "deolddev", "detchild", "disblduo", "disblmfa", "disblsso", "dlgsess",
    "dvrfydmn", "enblduo", "enblmfa", "enblsso", "expire", "export", "grant", "hide", "join", "launchi", "leave",
    "musercom", "muserdec", "patch", "propose", "provsn", "prsndall", "purge", "rdmchild", "reactive", "reauth",
    "replace", "resendts", "revoke", "role", "sdvcsso", "sendpkg", "sendts", "share", "ssotknv", "suspend",
    "tdvcsso", "trename", "trevoke", "trvlaway", "trvlback", "tverify", "uisas", "unhide", "unknown", "unlink",
    "updatduo", "update", "updatea", "updatfw", "updatmfa", "upguest", "uvrfydmn", "verify", "view", "vrfydmn",
)
AUDIT_OBJECT_TYPES = (
    "account", "card", "cred", "device", "dlgdsess", "ec", "famchild", "file", "gm", "group", "gva", "invite",
    "item", "itemhist", "items", "miguser", "mngdacc", "pm", "report", "sa", "satoken", "slackapp", "sso",
    "ssotkn", "sub", "template", "user", "uva", "vault", "vaultkey",
)
ACTOR_TYPES = ("user", "external_user")
USER_TYPES = ("member", "guest", "service_account", "external_member")

ENUMS = {
    "signinattempts": {"category": SIGNIN_CATEGORIES, "type": SIGNIN_TYPES},
    "itemusages": {"action": ITEM_ACTIONS},
    "auditevents": {"action": AUDIT_ACTIONS, "object_type": AUDIT_OBJECT_TYPES, "actor_type": ACTOR_TYPES},
}

# Plausible category of each sign-in type (firewall types also appear as
# firewall_reported_success: the firewall in report-only mode).
_TYPE_CATEGORY = {
    "credentials_ok": "success", "mfa_ok": "success", "federated": "success",
    "password_secret_bad": "credentials_failed", "platform_secret_bad": "credentials_failed",
    "platform_secret_disabled": "credentials_failed", "platform_secret_proxy": "credentials_failed",
    "non_sso_user": "sso_failed", "sso_user_mismatch": "sso_failed", "service_account_sso_denied": "sso_failed",
    "modern_version_missing": "modern_version_failed", "modern_version_old": "modern_version_failed",
    "all_blocked": "firewall_failed", "anonymous_blocked": "firewall_failed", "continent_blocked": "firewall_failed",
    "country_blocked": "firewall_failed", "ip_blocked": "firewall_failed",
}
_FIREWALL_TYPES = ("all_blocked", "anonymous_blocked", "continent_blocked", "country_blocked", "ip_blocked")

# Fields only the v2 endpoints send (MSP data); v1 answers drop them.
V2_ONLY_TOP = ("account_uuid", "actor_type", "actor_account_uuid")
V2_ONLY_USER = ("user_type", "user_account_uuid")

# -- the people, places and devices of the simulated account -----------------
_FIRST = (
    "Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Tim", "Radia",
    "Whitfield", "Shafi", "Edsger", "Hedy", "John", "Sophie", "Mateo", "Aiko", "Priya", "Olusegun", "Zoë", "José",
    "Søren", "Łukasz", "Chloé", "Björn", "Amara", "Noor", "Mei", "Yusuf", "Ines", "Kofi", "Elif", "Rafael",
)
_LAST = (
    "Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
    "Berners-Lee", "Perlman", "Diffie", "Goldwasser", "Dijkstra", "Lamarr", "O'Brien", "Müller", "García", "Tanaka",
    "Sharma", "Adeyemi", "Nguyen", "Kowalski", "Lindqvist", "Haddad", "Okafor", "Yılmaz", "Fernández", "Wong",
)
_NON_LATIN = ("李雷", "山田 太郎", "Дмитрий Иванов", "محمد علي", "Ελένη Παπαδοπούλου", "김민준")
_DOMAINS = ("example.com", "example.org", "corp.example.net")

_LOCATIONS = (
    ("CA", "Ontario", "Toronto", 43.6532, -79.3832), ("CA", "Quebec", "Montreal", 45.5017, -73.5673),
    ("US", "California", "San Francisco", 37.7749, -122.4194), ("US", "New York", "New York", 40.7128, -74.006),
    ("US", "Texas", "Austin", 30.2672, -97.7431), ("US", "Washington", "Seattle", 47.6062, -122.3321),
    ("GB", "England", "London", 51.5074, -0.1278), ("DE", "Berlin", "Berlin", 52.52, 13.405),
    ("FR", "Île-de-France", "Paris", 48.8566, 2.3522), ("NL", "North Holland", "Amsterdam", 52.3676, 4.9041),
    ("ES", "Catalonia", "Barcelona", 41.3874, 2.1686), ("SE", "Stockholm", "Stockholm", 59.3293, 18.0686),
    ("PL", "Masovia", "Warsaw", 52.2297, 21.0122), ("JP", "Tokyo", "Tokyo", 35.6762, 139.6503),
    ("IN", "Karnataka", "Bengaluru", 12.9716, 77.5946), ("BR", "São Paulo", "São Paulo", -23.5505, -46.6333),
    ("AU", "New South Wales", "Sydney", -33.8688, 151.2093), ("NG", "Lagos", "Lagos", 6.5244, 3.3792),
    ("SG", "Singapore", "Singapore", 1.3521, 103.8198), ("RU", "Moscow", "Moscow", 55.7558, 37.6173),
    ("KP", "Pyongyang", "Pyongyang", 39.0392, 125.7625), ("IR", "Tehran", "Tehran", 35.6892, 51.389),
)
_CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")

_CLIENTS = (
    ("1Password for Mac", "81080001", "Mac", "MacBookPro18,3", "MacOSX", "14.3"),
    ("1Password for Mac", "81100042", "Mac", "Mac14,2", "MacOSX", "15.1"),
    ("1Password for Windows", "81080001", "Windows", "10.0.22631", "Windows", "11"),
    ("1Password for Linux", "81090010", "Linux", "x86_64", "Ubuntu", "24.04"),
    ("1Password for iOS", "81080001", "iPhone", "iPhone15,2", "iOS", "17.3.1"),
    ("1Password for Android", "81080001", "Android", "Pixel 8", "Android", "14"),
    ("1Password Browser Extension", "81080001", "Chrome", "122.0.6261.94", "MacOSX", "14.3"),
    ("1Password Browser Extension", "81080001", "Firefox", "123.0", "Windows", "10"),
    ("1Password Browser Extension", "81080001", "Edge", "122.0.2365.66", "Windows", "11"),
    ("1Password Browser Extension", "20252", "Safari", "17.3", "MacOSX", "14.3"),
    ("1Password for Web", "1723", "Chrome", "122.0", "Linux", "x86_64"),  # the name the allowed list ships
    ("1Password CLI", "2250001", "", "", "linux", "6.5.0"),
    ("1Password SCIM Bridge", "2090200", "", "", "linux", ""),
    ("1Password for Mac", "70907001", "Mac", "MacBookAir10,1", "MacOSX", "12.6"),  # old client: action "other"
)


def _ascii(text):
    text = text.replace("ł", "l").replace("Ł", "L").replace("ı", "i").replace("ø", "o").replace("Ø", "O")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _ip(rng):
    """A documentation address that no shipped example list holds: the example
    "trusted network" rows are TEST-NET-1 (192.0.2.0/24) and 2001:db8::/32, so a
    demo's sign-ins come from TEST-NET-2, TEST-NET-3 (RFC 5737) and 3fff::/20
    (RFC 9637, the other IPv6 documentation prefix)."""
    kind = rng.random()
    if kind < 0.45:
        return "198.51.100.%d" % rng.randint(1, 254)
    if kind < 0.9:
        return "203.0.113.%d" % rng.randint(1, 254)
    return "3fff:%x:%x::%x" % (rng.randint(0, 0xFFF), rng.randint(0, 0xFFFF), rng.randint(1, 0xFFFF))


def _uuid(rng):
    """A 26-character base32 UUID, as 1Password writes them."""
    return base64.b32encode(rng.randbytes(17)).decode("ascii")[:26]


def _lower_uuid(rng):
    return _uuid(rng).lower()


def format_timestamp(ns, digits):
    """RFC 3339 UTC with Go's RFC3339Nano trimming (no trailing zeros, no
    fraction when zero), at most `digits` fraction digits."""
    secs, frac = divmod(ns, 1_000_000_000)
    head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if digits:
        text = ("%09d" % frac)[:digits].rstrip("0")
        if text:
            return "%s.%sZ" % (head, text)
    return head + "Z"


class Account:
    """The people and devices of one simulated account (seeded)."""

    def __init__(self, rng, account_uuid, users=60):
        self.account_uuid = account_uuid
        self.users = []
        for n in range(users):
            if n % 17 == 5:
                name = _NON_LATIN[n % len(_NON_LATIN)]
                email = "user%d@%s" % (n, _DOMAINS[0])
            else:
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                name = "%s %s" % (first, last)
                ascii_first = _ascii(first) or "user"
                ascii_last = _ascii(last).replace("'", "") or str(n)
                email = "%s.%s@%s" % (ascii_first.lower(), ascii_last.lower(), rng.choice(_DOMAINS))
            user_type = USER_TYPES[0] if n % 10 else USER_TYPES[(n // 10) % len(USER_TYPES)]
            self.users.append({
                "uuid": _uuid(rng), "name": name, "email": email,
                "user_type": user_type, "user_account_uuid": account_uuid,
                "home": rng.choice(_LOCATIONS), "ip": _ip(rng), "client": rng.choice(_CLIENTS),
            })
        self.admins = self.users[:4]
        self.vaults = [_lower_uuid(rng) for _ in range(25)]
        self.groups = [_uuid(rng) for _ in range(8)]
        self.devices = [_lower_uuid(rng) for _ in range(40)]

    @staticmethod
    def user_ref(user):
        return {k: user[k] for k in ("uuid", "name", "email", "user_type", "user_account_uuid")}


def _client(rng, user, client=None):
    app_name, app_version, platform_name, platform_version, os_name, os_version = client or user["client"]
    return {
        "app_name": app_name, "app_version": app_version, "platform_name": platform_name,
        "platform_version": platform_version, "os_name": os_name, "os_version": os_version,
        "ip_address": user["ip"] if rng.random() < 0.8 else _ip(rng),
    }


def _location(rng, user):
    country, region, city, lat, lon = user["home"] if rng.random() < 0.85 else rng.choice(_LOCATIONS)
    return {"country": country, "region": region, "city": city,
            "latitude": round(lat + rng.uniform(-0.05, 0.05), 4), "longitude": round(lon + rng.uniform(-0.05, 0.05), 4)}


# Placeholders replaced by %s in templates; they survive json.dumps unchanged.
_P_UUID, _P_UUID2, _P_TS = "@@U1@@", "@@U2@@", "@@TS@@"


def _template(profile, placeholders):
    text = json.dumps(profile, separators=(",", ":"), ensure_ascii=False).replace("%", "%%")
    for marker in placeholders:
        text = text.replace('"%s"' % marker, '"%s"', 1)
    return text


def _signin_profile(rng, account, n):
    """A sign-in attempt with placeholders for uuid, session_uuid, timestamp."""
    type_ = SIGNIN_TYPES[n] if n < len(SIGNIN_TYPES) else None
    if type_ is None:
        roll = rng.random()
        if roll < 0.72:
            type_ = rng.choice(("credentials_ok", "credentials_ok", "mfa_ok", "federated"))
        elif roll < 0.87:
            type_ = "password_secret_bad"
        else:
            type_ = rng.choice(SIGNIN_TYPES)
    if type_ in _FIREWALL_TYPES:
        category = "firewall_reported_success" if (n == len(SIGNIN_TYPES) or rng.random() < 0.3) else "firewall_failed"
    else:
        category = _TYPE_CATEGORY.get(type_, "mfa_failed")
    if n == len(SIGNIN_TYPES) + 1:
        category, type_ = "firewall_reported_success", "country_blocked"
    user = rng.choice(account.users)
    location = _location(rng, user)
    details = None
    if type_ == "country_blocked":
        details = {"value": location["country"]}
    elif type_ == "continent_blocked":
        details = {"value": rng.choice(_CONTINENTS)}
    elif type_ == "ip_blocked":
        details = {"value": user["ip"]}
    item = {
        "uuid": _P_UUID, "session_uuid": _P_UUID2, "timestamp": _P_TS, "category": category, "type": type_,
        "country": location["country"], "details": details,
        "target_user": Account.user_ref(user), "client": _client(rng, user), "location": location,
        "account_uuid": account.account_uuid,
    }
    if n % 23 == 7:
        del item["location"]  # geolocation is not always known
    return _template(item, (_P_UUID, _P_UUID2, _P_TS))


def _itemusage_profile(rng, account, n):
    action = ITEM_ACTIONS[n] if n < len(ITEM_ACTIONS) else rng.choice(
        ("fill", "fill", "fill", "reveal", "secure-copy", "server-fetch", "server-update", "other") + ITEM_ACTIONS)
    user = rng.choice(account.users)
    client = _CLIENTS[-1] if action == "other" else None
    item = {
        "uuid": _P_UUID, "timestamp": _P_TS, "used_version": rng.randint(1, 40),
        "vault_uuid": rng.choice(account.vaults), "item_uuid": _lower_uuid(rng), "action": action,
        "user": Account.user_ref(user), "client": _client(rng, user, client), "location": _location(rng, user),
        "account_uuid": account.account_uuid,
    }
    if n % 19 == 3:
        del item["location"]
    return _template(item, (_P_UUID, _P_TS))


_USER_OBJECTS = {"user", "miguser", "invite"}


def _auditevent_profile(rng, account, n):
    action = AUDIT_ACTIONS[n] if n < len(AUDIT_ACTIONS) else rng.choice(
        ("grant", "revoke", "create", "update", "join", "leave", "delete", "verify", "suspend") + AUDIT_ACTIONS)
    if n < len(AUDIT_OBJECT_TYPES):
        object_type = AUDIT_OBJECT_TYPES[n]
    else:
        object_type = {
            "grant": "uva", "revoke": "uva", "join": "gm", "leave": "gm", "suspend": "user", "verify": "user",
            "enblmfa": "user", "disblmfa": "user", "changemp": "user", "updatfw": "account", "export": "vault",
        }.get(action) or rng.choice(AUDIT_OBJECT_TYPES)
    actor = rng.choice(account.admins) if rng.random() < 0.7 else rng.choice(account.users)
    actor_type = ACTOR_TYPES[n % 2] if n < 2 else ("external_user" if rng.random() < 0.05 else "user")
    item = {
        "uuid": _P_UUID, "timestamp": _P_TS, "actor_uuid": actor["uuid"], "actor_details": Account.user_ref(actor),
        "actor_type": actor_type, "actor_account_uuid": account.account_uuid,
        "action": action, "object_type": object_type,
    }
    if object_type in _USER_OBJECTS:
        target = rng.choice(account.users)
        item["object_uuid"] = target["uuid"]
        item["object_details"] = {"uuid": target["uuid"], "name": target["name"], "email": target["email"]}
    elif object_type in ("vault", "uva", "gva"):
        item["object_uuid"] = rng.choice(account.vaults)
    elif object_type in ("group", "gm"):
        item["object_uuid"] = rng.choice(account.groups)
    elif object_type == "device":
        item["object_uuid"] = rng.choice(account.devices)
    else:
        item["object_uuid"] = _uuid(rng)
    if object_type in ("uva", "gm", "gva"):
        aux = rng.choice(account.users)
        item["aux_id"] = rng.randint(1, 50_000)
        item["aux_uuid"] = aux["uuid"]
        item["aux_details"] = {"uuid": aux["uuid"], "name": aux["name"], "email": aux["email"]}
        item["aux_info"] = rng.choice(("R", "A", "M", "{\"permissions\":[\"view_items\",\"create_items\"]}"))
    elif rng.random() < 0.2:
        item["aux_info"] = rng.choice(("", "A", "Chrome on MacOSX", "SSO provider: Okta"))
    item["session"] = {"uuid": _uuid(rng), "login_time": _P_TS, "device_uuid": rng.choice(account.devices),
                       "ip": actor["ip"]}
    item["location"] = _location(rng, actor)
    item["account_uuid"] = account.account_uuid
    if n % 29 == 11:
        # system events: no actor (treat every field as optional)
        for key in ("actor_uuid", "actor_details", "session"):
            item.pop(key, None)
    text = _template(item, (_P_UUID, _P_TS))
    # the session's login_time is the event's timestamp: a third placeholder
    return text.replace('"login_time":"@@TS@@"', '"login_time":"%s"', 1)


class StreamData:
    """The items of one stream, as compact JSON text with their epoch second."""

    __slots__ = ("name", "texts", "secs")

    def __init__(self, name):
        self.name = name
        self.texts = []  # log order (the order the API inserted them)
        self.secs = array("q")  # epoch second of each item's timestamp (for start/end_time)


_PROFILES = {  # builder, fraction digits of timestamps
    "signinattempts": (_signin_profile, 3),
    "itemusages": (_itemusage_profile, 0),
    "auditevents": (_auditevent_profile, 9),
}


class Generator:
    """Produces the items of one stream: deterministic for (seed, stream)."""

    def __init__(self, stream, seed, account, profiles=512):
        self.stream = stream
        self.rng = random.Random("%s/%s" % (seed, stream))
        builder, self.digits = _PROFILES[stream]
        self.templates = [builder(self.rng, account, n) for n in range(profiles)]
        self.arity = [t.count("%s") - t.count("%%s") for t in self.templates]
        self.count = 0

    def render(self, ns):
        """One item at `ns` nanoseconds since the epoch: (text, second, uuid)."""
        rng = self.rng
        n = self.count
        self.count += 1
        pick = n if n < len(self.templates) else rng.randrange(len(self.templates))
        template = self.templates[pick]
        digits = self.digits if self.digits or rng.random() > 0.1 else 3  # a few item usages carry millis
        ts = format_timestamp(ns, digits)
        uuid = base64.b32encode(rng.randbytes(17)).decode("ascii")[:26]
        if self.arity[pick] == 3:
            if self.stream == "auditevents":  # uuid, timestamp, session.login_time (hours before)
                login = format_timestamp(ns - rng.randrange(60, 36_000) * 1_000_000_000 - rng.randrange(10**9), 9)
                return template % (uuid, ts, login), ns // 1_000_000_000, uuid
            session = base64.b32encode(rng.randbytes(17)).decode("ascii")[:26]  # uuid, session_uuid, timestamp
            return template % (uuid, session, ts), ns // 1_000_000_000, uuid
        return template % (uuid, ts), ns // 1_000_000_000, uuid


def generate_backlog(gen, data, count, first_ns, last_ns, late_fraction, late_span, rng):
    """Append `count` items with timestamps spread over [first_ns, last_ns].

    A `late_fraction` of them arrives late: inserted up to `late_span`
    positions after items with later timestamps (eventual consistency).
    """
    if count <= 0:
        return
    step = max(1, (last_ns - first_ns) // count)
    texts, secs = [], array("q")
    for i in range(count):
        ns = first_ns + i * step + rng.randrange(step)
        text, second, _ = gen.render(ns)
        texts.append(text)
        secs.append(second)
    if late_fraction > 0 and count > 2:
        keys = list(range(count))
        late = rng.sample(range(count - 1), max(1, int(count * late_fraction)))
        for i in late:
            keys[i] = i + rng.randint(1, late_span) + 0.5
        order = sorted(range(count), key=keys.__getitem__)
        texts = [texts[i] for i in order]
        secs = array("q", (secs[i] for i in order))
    data.texts.extend(texts)
    data.secs.extend(secs)


def strip_v2_fields(text):
    """The v1 shape of an item (no MSP fields); re-encoded, v1 is not the hot path."""
    try:
        item = json.loads(text)
    except ValueError:
        return text
    if not isinstance(item, dict):
        return text
    for key in V2_ONLY_TOP:
        item.pop(key, None)
    for key in ("target_user", "user", "actor_details"):
        sub = item.get(key)
        if isinstance(sub, dict):
            for field in V2_ONLY_USER:
                sub.pop(field, None)
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)
