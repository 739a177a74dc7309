"""Synthetic Events API items, shaped as documented for v2."""

import time
import uuid as uuid_module

from onepassword_events import timeparse

# ten days ago, at midnight UTC: inside the API's 120-day retention whenever the tests run
BASE = (int(time.time()) // 86400 - 10) * 86400


def _uuid(prefix, n):
    return (prefix + str(n).rjust(26 - len(prefix), "0")).upper()


def signin(n, second=None, category="success", type_="credentials_ok", fraction=".123456789Z"):
    ts = timeparse.format_rfc3339(BASE + (n if second is None else second))[:-1] + fraction
    return {
        "uuid": _uuid("S", n), "session_uuid": _uuid("SS", n), "timestamp": ts, "category": category,
        "type": type_, "country": "CA", "details": None,
        "target_user": {"uuid": "USER1", "name": "Ada <Lovelace> & co", "email": "ada@example.com"},
        "client": {"app_name": "1Password for Mac", "app_version": "81080001", "platform_name": "Mac",
                   "platform_version": "14", "os_name": "MacOSX", "os_version": "14.3", "ip_address": "198.51.100.7"},
        "location": {"country": "CA", "region": "Ontario", "city": "Toronto", "latitude": 43.64, "longitude": -79.43},
    }


def itemusage(n, second=None, action="reveal"):
    ts = timeparse.format_rfc3339(BASE + (n if second is None else second))
    return {"uuid": _uuid("I", n), "timestamp": ts, "used_version": 3, "vault_uuid": "VAULT1", "item_uuid": _uuid("IT", n),
            "action": action, "user": {"uuid": "USER1", "name": "Ada", "email": "ada@example.com"},
            "client": {"app_name": "1Password CLI", "ip_address": "203.0.113.9"}}


def auditevent(n, second=None, action="grant", object_type="uva"):
    # the same instant written in India's offset
    ts = timeparse.format_rfc3339(BASE + (n if second is None else second) + 19800)[:-1] + ".5+05:30"
    return {"uuid": _uuid("A", n), "timestamp": ts, "actor_uuid": "ADMIN1",
            "actor_details": {"uuid": "ADMIN1", "name": "Admin", "email": "admin@example.com"},
            "action": action, "object_type": object_type, "object_uuid": "VAULT1", "aux_uuid": "USER1",
            "aux_info": "R", "session": {"uuid": "SESS", "login_time": ts, "device_uuid": "DEV", "ip": "198.51.100.7"},
            "account_uuid": "ACCOUNTUUID", "new_field_from_the_future": {"x": [1, 2, 3]}}


def random_uuid():
    return uuid_module.uuid4().hex[:26].upper()
