"""A stand-in for Splunk Web in front of the fake splunkd, enough for the built UCC pages.

    with SplunkWeb(addon_dir, splunkd, user_key) as web:     # 127.0.0.1, an ephemeral port
        web.page_url("configuration")                        # /en-US/app/<app>/configuration
        web.requests                                         # every request the browser made

What it serves, as Splunk Web does (the page's own files untouched):
  /en-US/app/<app>/<view>          the view's template (appserver/templates/base.html), with the
                                   CSRF cookie splunkweb_csrf_token_<port>
  /en-US/config?autoload=1         the $C globals (window.$C) the page's libraries read
  /en-US/static/@<build>/js/i18n.js and /en-US/i18ncatalog?autoload=1
                                   Splunk Web's translation scripts: English, no catalogue
  /en-US/static/@<build>/app/<app>/<path>   appserver/static/<path>
  /en-US/splunkd/__raw/<path>      splunkd's REST API: passed to the fake splunkd with the
                                   user's session; a POST or DELETE without the CSRF token in
                                   X-Splunk-Form-Key is refused (401) as Splunk Web refuses it
Anything else answers 404 and stays in `unanswered`.

check_bootstrap() says what in the built page no longer matches what this stand-in provides
(UCC changed how the page starts): the tests fail on it with that message.
"""

import http.server
import json
import os
import re
import secrets
import socketserver
import threading
import urllib.error
import urllib.request
from collections import namedtuple
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

WebRequest = namedtuple("WebRequest", "method path query form status")
UCC_VERSION = "6.6.0"  # requirements.txt pins splunk-add-on-ucc-framework to it
LOCALE = "en-US"
SPLUNKD_PREFIX = "/%s/splunkd/__raw" % LOCALE
# what the page's libraries read from $C (@splunk/splunk-utils/config, UCC's own code)
CONFIG_KEYS = ("MRSPARKLE_PORT_NUMBER", "SPLUNKD_PATH", "MRSPARKLE_ROOT_PATH", "LOCALE", "USERNAME")
TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".png": "image/png",
         ".svg": "image/svg+xml", ".woff": "font/woff", ".woff2": "font/woff2", ".html": "text/html"}
I18N_JS = "window.i18n_register = function (data) { window._i18n_catalog = data; };\n"
I18N_CATALOG = "i18n_register({\"plural\": function (n) { return n == 1 ? 0 : 1; }, \"catalog\": {}});\n"


class BootstrapChanged(AssertionError):
    pass


def _read(path, mode="r"):
    """A file's contents, or None when it does not exist."""
    if not os.path.isfile(path):
        return None
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
        return handle.read()


def _template_scripts(template_text):
    return re.findall(r"""(?:src=|_loadScript\()\s*['"]([^'"]+)['"]""", template_text)


def check_bootstrap(addon_dir):
    """The view template's scripts, {"config", "i18n", "catalog", "entry"} (paths relative to
    /en-US/app/<app>/), or BootstrapChanged saying what no longer matches."""
    app = os.path.basename(os.path.normpath(addon_dir))
    problems = []
    config = _read(os.path.join(addon_dir, "appserver", "static", "js", "build", "globalConfig.json"))
    meta = json.loads(config)["meta"] if config else {}
    if meta.get("_uccVersion") != UCC_VERSION:
        problems.append("built with UCC %s, the stand-in knows %s" % (meta.get("_uccVersion"), UCC_VERSION))
    template = os.path.join(addon_dir, "appserver", "templates", "base.html")
    text = _read(template) or ""
    scripts = _template_scripts(text)
    wanted = {
        "config": r"^\.\./\.\./config\?autoload=1$",
        "i18n": r"^\.\./\.\./static/@[^/]+/js/i18n\.js$",
        "catalog": r"^\.\./\.\./i18ncatalog\?autoload=1$",
        "entry": r"^\.\./\.\./static/@[^/]+/app/%s/js/build/entry_page\.js$" % re.escape(app),
    }
    found = {}
    for name, pattern in wanted.items():
        hits = [s for s in scripts if re.match(pattern, s)]
        if len(hits) != 1:
            problems.append("base.html loads no %s script like %s (it loads %s)" % (name, pattern, scripts))
        else:
            found[name] = hits[0]
    entry = os.path.join(addon_dir, "appserver", "static", "js", "build", "entry_page.js")
    code = _read(entry) or ""
    if not code:
        problems.append("no appserver/static/js/build/entry_page.js")
    for needle in CONFIG_KEYS + ("splunkweb_csrf_token_", "X-Splunk-Form-Key"):
        if code and needle not in code:
            problems.append("entry_page.js no longer reads %s" % needle)
    if problems:
        raise BootstrapChanged("the built setup page starts differently from what tests/setup_pages/splunk_web.py "
                               "provides (update the stand-in after reading the new UCC's page):\n  - "
                               + "\n  - ".join(problems))
    return found


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False


class SplunkWeb:
    def __init__(self, addon_dir, splunkd, session_key, username="admin"):
        self.addon_dir = os.path.normpath(addon_dir)
        self.app = os.path.basename(self.addon_dir)
        self.splunkd = splunkd
        self.session_key = session_key
        self.username = username
        self.csrf_token = secrets.token_hex(16)
        self.requests = []
        self.unanswered = []
        self.scripts = check_bootstrap(self.addon_dir)
        self._lock = threading.Lock()
        self._server = None
        self.port = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        handler = type("Handler", (_Handler,), {"web": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.port

    def page_url(self, view):
        return "%s/%s/app/%s/%s" % (self.origin, LOCALE, self.app, view)

    def posts(self, contains=""):
        """The POSTs the browser sent to splunkd (path after servicesNS/nobody/<app>/ ...)."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path.startswith(SPLUNKD_PREFIX)
                    and contains in r.path]

    # -- answers -------------------------------------------------------------------------------
    def config_js(self):
        build = self.scripts["entry"].split("/static/@", 1)[1].split("/", 1)[0]
        config = {
            "LOCALE": LOCALE, "MRSPARKLE_ROOT_PATH": "", "MRSPARKLE_PORT_NUMBER": self.port,
            "SPLUNKD_PATH": SPLUNKD_PREFIX, "USERNAME": self.username, "FORM_KEY": self.csrf_token,
            "APP_BUILD": build, "BUILD_NUMBER": build, "BUILD_PUSH_NUMBER": 0, "VERSION_LABEL": "9.4.0",
            "SERVER_ZONEINFO": "### SERIALIZED TIMEZONE FORMAT 1.0;Y0 NW 55 54 43;$", "SPLUNK_UI_THEME": "enterprise",
            "IS_CLOUD": False, "INSTANCE_TYPE": "download", "PRODUCT_TYPE": "enterprise",
        }
        return "window.$C = %s;\n" % json.dumps(config)

    def view_template(self, view):
        xml_path = os.path.join(self.addon_dir, "default", "data", "ui", "views", view + ".xml")
        if not os.path.exists(xml_path):
            return None
        template = ElementTree.parse(xml_path).getroot().get("template") or ""
        app, _, relative = template.partition(":")
        if app != self.app:
            return None
        path = os.path.join(self.addon_dir, "appserver", relative.lstrip("/"))
        return _read(path, "rb")

    def static_file(self, relative):
        root = os.path.join(self.addon_dir, "appserver", "static")
        path = os.path.normpath(os.path.join(root, relative))
        return _read(path, "rb") if path.startswith(root + os.sep) else None

    def to_splunkd(self, method, path_and_query, headers, body):
        request = urllib.request.Request(self.splunkd.url + path_and_query, data=body if method != "GET" else None,
                                         method=method)
        request.add_header("Authorization", "Splunk " + self.session_key)
        if headers.get("Content-Type"):
            request.add_header("Content-Type", headers["Content-Type"])
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.status, answer.headers.get("Content-Type"), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type"), exc.read()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    web = None

    def log_message(self, *args):
        pass

    def _answer(self, status, content_type, body, cookies=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)
        return status

    def _cookies(self):
        found = {}
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            found[name] = value
        return found

    def _serve(self, method):
        web = self.web
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = parts.path
        app_prefix = "/%s/app/%s/" % (LOCALE, web.app)
        static_app = re.match(r"^/%s/static/@[^/]+/app/%s/(.+)$" % (LOCALE, re.escape(web.app)), path)
        status = None
        if path.startswith(SPLUNKD_PREFIX + "/"):
            token = self._cookies().get("splunkweb_csrf_token_%d" % web.port)
            if method != "GET" and (not token or self.headers.get("X-Splunk-Form-Key") != token):
                status = self._answer(401, "application/json", json.dumps({"messages": [
                    {"type": "ERROR", "text": "Splunk Web: the request carries no valid CSRF form key"}]}).encode())
            else:
                answer = web.to_splunkd(method, self.path[len(SPLUNKD_PREFIX):], self.headers, body)
                status = self._answer(*answer)
        elif method == "GET" and path.startswith(app_prefix) and "/" not in path[len(app_prefix):].strip("/"):
            page = web.view_template(path[len(app_prefix):].strip("/"))
            if page is not None:
                status = self._answer(200, "text/html; charset=utf-8", page, cookies=(
                    "splunkweb_csrf_token_%d=%s; Path=/" % (web.port, web.csrf_token),
                    "splunkd_%d=fake-web-session; Path=/; HttpOnly" % web.port))
        elif method == "GET" and path == "/%s/config" % LOCALE:
            status = self._answer(200, "text/javascript", web.config_js().encode())
        elif method == "GET" and re.match(r"^/%s/static/@[^/]+/js/i18n\.js$" % LOCALE, path):
            status = self._answer(200, "text/javascript", I18N_JS.encode())
        elif method == "GET" and path == "/%s/i18ncatalog" % LOCALE:
            status = self._answer(200, "text/javascript", I18N_CATALOG.encode())
        elif method == "GET" and static_app:
            content = web.static_file(static_app.group(1))
            if content is not None:
                status = self._answer(200, TYPES.get(os.path.splitext(path)[1], "application/octet-stream"), content)
        if status is None:
            status = self._answer(404, "text/plain", b"not served by the Splunk Web stand-in")
        record = WebRequest(method, path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                            dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                            if method == "POST" else {}, status)
        with web._lock:
            web.requests.append(record)
            if status == 404 and not path.startswith(SPLUNKD_PREFIX):
                web.unanswered.append(record)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")
