"""A small splunkd REST client for the e2e suite (requests): sessions with basic auth,
readiness and restart, the add-on's own REST endpoints, indexes, macros, search jobs,
saved-search dispatch and HEC.

Unit-tested offline against `responses` (tests/e2e_helpers/test_e2e_splunk_client.py).
splunkd's management port and HEC use the image's self-signed certificate: the suite
talks to its own throwaway stack on 127.0.0.1, so verification is off (and its warning
silenced) unless `verify` is given.
"""

import json
import time
import uuid
from urllib.parse import quote

import requests

try:  # urllib3 1.x and 2.x
    from urllib3.exceptions import InsecureRequestWarning
except ImportError:  # pragma: no cover
    InsecureRequestWarning = None

ADDON = "TA-1password-events"
FAILED_MESSAGE_TYPES = ("FATAL", "ERROR")


class SplunkError(RuntimeError):
    def __init__(self, message, status=None, body=""):
        super().__init__(message)
        self.status = status
        self.body = body


class SearchFailed(SplunkError):
    pass


class WaitTimeout(AssertionError):
    pass


def wait_for(probe, timeout, interval=2.0, what="the condition", sleep=time.sleep, clock=time.monotonic):
    """Call probe() until it returns something truthy; return that. Exceptions from probe
    count as "not yet" (the last one is reported). Raises WaitTimeout after `timeout` s."""
    deadline = clock() + timeout
    last = None
    while True:
        try:
            value = probe()
        except Exception as exc:  # noqa: BLE001 - a splunkd restarting refuses connections
            value, last = None, exc
        else:
            if value:
                return value
            last = value
        if clock() >= deadline:
            raise WaitTimeout("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))
        sleep(interval)


def wait_stable(probe, timeout, interval=5.0, what="the value to settle", polls=2, sleep=time.sleep,
                clock=time.monotonic):
    """Poll probe() -> (ready, value) until it is ready and the value has been the same for
    `polls` consecutive polls (indexing has caught up); return the value. Exceptions from
    probe count as "not yet"."""
    deadline = clock() + timeout
    seen, last = [], None
    while True:
        try:
            ready, value = probe()
        except Exception as exc:  # noqa: BLE001
            ready, value, last = False, None, exc
            seen = []
        else:
            last = value
            seen = (seen + [value])[-polls:] if ready else []
            if len(seen) == polls and all(v == seen[0] for v in seen):
                return value
        if clock() >= deadline:
            raise WaitTimeout("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))
        sleep(interval)


def normalize_spl(spl):
    """A search string as search/jobs wants it: generating searches start with '|',
    everything else gets the implicit 'search ' made explicit."""
    text = spl.strip()
    if text.startswith("|") or text.startswith("search ") or text == "search":
        return text
    return "search " + text


def message_texts(messages, types=FAILED_MESSAGE_TYPES):
    """Texts of the messages of the given types. splunkd gives them as a list of
    {"type", "text"} (search results, job entries) or as {type: [text, ...]}."""
    wanted = {t.upper() for t in types}
    out = []
    if isinstance(messages, dict):
        for kind, texts in messages.items():
            if kind.upper() in wanted:
                out.extend(texts if isinstance(texts, list) else [texts])
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and str(message.get("type", "")).upper() in wanted:
                out.append(message.get("text", ""))
    return [str(text) for text in out]


def error_text(response):
    """What splunkd said in an error answer: the JSON messages' texts, or the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    texts = message_texts(body.get("messages", []), types=("FATAL", "ERROR", "WARN", "INFO"))
    return " | ".join(texts) if texts else response.text


def _message_list(messages):
    """Job-entry messages as a list of {"type", "text"} whatever shape splunkd used."""
    if isinstance(messages, dict):
        return [{"type": kind, "text": text} for kind, texts in messages.items()
                for text in (texts if isinstance(texts, list) else [texts])]
    return list(messages or [])


class SearchResult:
    def __init__(self, sid, rows, messages, job, fields=()):
        self.sid = sid
        self.rows = rows
        self.messages = messages
        self.job = job
        self.fields = list(fields)

    @property
    def errors(self):
        return message_texts(self.messages)

    def __len__(self):
        return len(self.rows)

    def __repr__(self):
        return "<SearchResult %s rows=%d errors=%r>" % (self.sid, len(self.rows), self.errors)


class SplunkClient:
    def __init__(self, base_url, username, password, app=ADDON, session=None, verify=False, timeout=120,
                 sleep=time.sleep, clock=time.monotonic):
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.app = app
        self.session = session or requests.Session()
        self.session.auth = (username, password)
        self.session.verify = verify
        if verify is False and InsecureRequestWarning is not None:
            import urllib3

            urllib3.disable_warnings(InsecureRequestWarning)
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock

    # -- plumbing -------------------------------------------------------------------
    def ns(self, app=None, owner="nobody"):
        return "/servicesNS/%s/%s" % (quote(owner, safe=""), quote(app or self.app, safe=""))

    def request(self, method, path, params=None, data=None, expect=(200, 201), **kwargs):
        params = dict(params or {})
        params.setdefault("output_mode", "json")
        response = self.session.request(method, self.base_url + path, params=params, data=data,
                                        timeout=kwargs.pop("timeout", self.timeout), **kwargs)
        if expect is not None and response.status_code not in expect:
            raise SplunkError("%s %s -> HTTP %d: %s" % (method, path, response.status_code,
                                                          error_text(response)[:500]),
                              response.status_code, response.text)
        return response

    def entries(self, path, **params):
        params.setdefault("count", 0)
        return self.request("GET", path, params=params).json().get("entry", [])

    def entry(self, path, **params):
        entries = self.entries(path, **params)
        if not entries:
            raise SplunkError("GET %s: no entry" % path)
        return entries[0]

    def exists(self, path):
        return self.request("GET", path, expect=None).status_code == 200

    # -- server -----------------------------------------------------------------------
    def server_info(self):
        return self.entry("/services/server/info")["content"]

    def kvstore_status(self):
        content = self.entry("/services/kvstore/status")["content"]
        current = content.get("current", {})
        return current.get("status") if isinstance(current, dict) else None

    def ready(self):
        """server/info answers and the KV store (the input's checkpoints) is ready."""
        info = self.server_info()
        return info if self.kvstore_status() == "ready" else None

    def wait_until_ready(self, timeout=900, interval=5.0):
        return wait_for(self.ready, timeout, interval, "splunkd and its KV store to be ready", self.sleep,
                        self.clock)

    def restart(self, timeout=900, interval=5.0):
        """Restart splunkd (REST) and wait until a new splunkd is up with its KV store.
        Returns (startup_time before, startup_time after)."""
        before = self.server_info().get("startup_time")
        self.request("POST", "/services/server/control/restart")

        def restarted():
            info = self.ready()
            return info if info and info.get("startup_time") != before else None

        after = wait_for(restarted, timeout, interval, "splunkd to restart", self.sleep, self.clock)
        return before, after.get("startup_time")

    # -- the add-on's REST endpoints (what its UI calls) -------------------------------------
    def addon_path(self, endpoint, name=None):
        path = "%s/%s" % (self.ns(), endpoint)
        return path + "/" + quote(name, safe="") if name else path

    def create_addon_entity(self, endpoint, name, fields):
        """POST the form the add-on's UI posts; returns the response whatever its status."""
        data = {"name": name}
        data.update({key: value for key, value in fields.items() if value is not None})
        return self.request("POST", self.addon_path(endpoint), data=data, expect=None)

    # -- indexes, macros, saved searches ----------------------------------------------------
    def create_index(self, name, app="search"):
        response = self.request("POST", "%s/data/indexes" % self.ns(app), data={"name": name}, expect=None)
        if response.status_code not in (200, 201, 409):
            raise SplunkError("cannot create index %s: HTTP %d %s" % (name, response.status_code,
                                                                      error_text(response)[:300]),
                              response.status_code, response.text)
        return response.status_code != 409

    def macro(self, name, app=None):
        """The macro's definition, or None when there is no such macro in that app's view."""
        response = self.request("GET", "%s/configs/conf-macros/%s" % (self.ns(app), quote(name, safe="")),
                                expect=None)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SplunkError("GET macro %s: HTTP %d" % (name, response.status_code), response.status_code,
                              response.text)
        return response.json()["entry"][0]["content"].get("definition")

    def set_macro(self, name, definition, app=None):
        """Set a macro's definition (created when absent); returns the previous one (None: absent)."""
        previous = self.macro(name, app)
        base = "%s/configs/conf-macros" % self.ns(app)
        if previous is None:
            self.request("POST", base, data={"name": name, "definition": definition})
        else:
            self.request("POST", base + "/" + quote(name, safe=""), data={"definition": definition})
        return previous

    def saved_search(self, name, app=None):
        return self.entry("%s/saved/searches/%s" % (self.ns(app), quote(name, safe="")))["content"]

    def update_saved_search(self, name, fields, app=None):
        self.request("POST", "%s/saved/searches/%s" % (self.ns(app), quote(name, safe="")), data=fields)

    def enable_saved_search(self, name, app=None):
        """Enable a saved search (its schedule starts)."""
        self.request("POST", "%s/saved/searches/%s/enable" % (self.ns(app), quote(name, safe="")))

    def disable_saved_search(self, name, app=None):
        self.request("POST", "%s/saved/searches/%s/disable" % (self.ns(app), quote(name, safe="")))

    # -- searches -------------------------------------------------------------------------
    def start_search(self, spl, earliest="0", latest=None, now=None, app=None, **extra):
        data = {"search": normalize_spl(spl), "exec_mode": "normal"}
        if earliest is not None:
            data["earliest_time"] = earliest
        if latest is not None:
            data["latest_time"] = latest
        if now is not None:
            data["now"] = str(int(now))
        data.update(extra)
        response = self.request("POST", "%s/search/jobs" % self.ns(app, owner=self.username), data=data)
        return response.json()["sid"]

    def dispatch_saved_search(self, name, now=None, trigger_actions=False, app=None, **extra):
        data = {"trigger_actions": "1" if trigger_actions else "0"}
        if now is not None:
            data["dispatch.now"] = str(int(now))
        data.update(extra)
        response = self.request("POST", "%s/saved/searches/%s/dispatch" % (self.ns(app), quote(name, safe="")),
                                data=data)
        return response.json()["sid"]

    def wait_job(self, sid, timeout=600, interval=1.0, app=None):
        path = "%s/search/jobs/%s" % (self.ns(app, owner=self.username), quote(sid, safe=""))

        def done():
            content = self.entry(path)["content"]
            if content.get("isFailed") or content.get("dispatchState") == "FAILED":
                raise SearchFailed("search %s failed: %s" % (sid, message_texts(content.get("messages", []))
                                                             or content.get("dispatchState")))
            return content if content.get("isDone") else None

        deadline = self.clock() + timeout
        while True:
            content = done()  # a failed job raises at once (not retried like wait_for would)
            if content:
                return content
            if self.clock() >= deadline:
                raise WaitTimeout("search %s not done after %ss" % (sid, timeout))
            self.sleep(interval)

    def results(self, sid, page=5000, app=None):
        """(rows, messages, field names) of a finished job, all pages."""
        path = "%s/search/jobs/%s/results" % (self.ns(app, owner=self.username), quote(sid, safe=""))
        rows, messages, fields, offset = [], [], [], 0
        while True:
            body = self.request("GET", path, params={"count": page, "offset": offset}).json()
            batch = body.get("results", [])
            rows.extend(batch)
            messages.extend(body.get("messages", []) or [])
            for field in body.get("fields", []) or []:
                name = field.get("name") if isinstance(field, dict) else field
                if name not in fields:
                    fields.append(name)
            if len(batch) < page:
                return rows, messages, fields
            offset += page

    def finish(self, sid, timeout=600, app=None):
        job = self.wait_job(sid, timeout, app=app)
        rows, messages, fields = self.results(sid, app=app)
        messages = _message_list(job.get("messages")) + messages
        return SearchResult(sid, rows, messages, job, fields)

    def search(self, spl, earliest="0", latest=None, now=None, app=None, timeout=600, **extra):
        """Run a search to the end; a job that fails raises SearchFailed, error messages are in .errors."""
        sid = self.start_search(spl, earliest=earliest, latest=latest, now=now, app=app, **extra)
        return self.finish(sid, timeout, app=app)

    def count(self, spl, earliest="0", latest=None, field="count", **kwargs):
        rows = self.search(spl, earliest=earliest, latest=latest, **kwargs).rows
        return int(float(rows[0].get(field, 0))) if rows else 0

    # -- HTTP Event Collector ------------------------------------------------------------------
    def hec_events(self, hec_url, token, payloads, batch=500):
        """POST /services/collector/event payloads (dicts), `batch` per request."""
        headers = {"Authorization": "Splunk " + token, "X-Splunk-Request-Channel": str(uuid.uuid4())}
        sent = 0
        for start in range(0, len(payloads), batch):
            body = "".join(json.dumps(p, ensure_ascii=False) for p in payloads[start:start + batch])
            response = requests.post(hec_url.rstrip("/") + "/services/collector/event", data=body.encode("utf-8"),
                                     headers=headers, verify=self.session.verify, timeout=self.timeout)
            _check_hec(response)
            sent += len(payloads[start:start + batch])
        return sent

    def hec_raw(self, hec_url, token, text, index, sourcetype, source, host=None):
        """POST /services/collector/raw: splunkd parses the text (line breaking, timestamps)."""
        params = {"index": index, "sourcetype": sourcetype, "source": source}
        if host:
            params["host"] = host
        headers = {"Authorization": "Splunk " + token, "X-Splunk-Request-Channel": str(uuid.uuid4())}
        response = requests.post(hec_url.rstrip("/") + "/services/collector/raw", params=params,
                                 data=text.encode("utf-8"), headers=headers, verify=self.session.verify,
                                 timeout=self.timeout)
        _check_hec(response)


def _check_hec(response):
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or body.get("code") not in (0, None):
        raise SplunkError("HEC refused the events: HTTP %d %s" % (response.status_code, response.text[:300]),
                          response.status_code, response.text)
