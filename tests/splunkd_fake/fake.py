"""FakeSplunkd: the few splunkd REST endpoints the add-on's Splunk edge calls,
served over real HTTP on 127.0.0.1 so solnlib / splunklib run unmodified.

Endpoints (under /servicesNS/<owner>/<app>/ or /services/):
  properties, properties/<conf>                    GET (404: no such conf), POST __conf
  configs/conf-<conf>                              GET list (search/count/offset), POST create
  configs/conf-<conf>/<stanza>                     GET (404), POST update, DELETE
  storage/passwords                                GET list (search=realm=...), POST create (409)
  storage/passwords/<realm:user:>                  GET, POST update, DELETE
  storage/collections/config[/<name>]              GET list/get (404), POST create, DELETE
  storage/collections/data/<coll>                  GET (query), POST insert, DELETE
  storage/collections/data/<coll>/batch_save       POST (JSON array; upsert by _key)
  storage/collections/data/<coll>/<key>            GET (404), POST update, DELETE (404)
  authentication/current-context                   GET: the session's user, roles, capabilities
  <match>[/<path_info>] of an installed app's [script:] stanza (scripttype = persist)
Atom XML unless output_mode=json (KV data: always JSON). Every request must carry
`Authorization: Splunk <session key>` of the system session or of a user made by
add_user (401 otherwise). Conf stanzas are layered: system default < system local <
app default < app local ([default] stanza inherited), as btool would merge them for
an app context. Writes to configs/conf-* of an installed app follow its metadata
(default.meta, local.meta) for users without admin_all_objects.
"""

import base64
import copy
import hashlib
import http.server
import importlib.util
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import namedtuple
from contextlib import contextmanager
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

from .render import Entry, atom_feed, json_error, json_feed, xml_error
from .setup_endpoints import (find_admin_endpoint, serve_admin_endpoint, serve_data_inputs, serve_indexes,
                              serve_search_jobs)

ADDON = "TA-1password-events"
REST_ROOT = "ta_1password_events"
ACCOUNT_CONF = REST_ROOT + "_account"
SETTINGS_CONF = REST_ROOT + "_settings"
CHECKPOINT_COLLECTION = REST_ROOT + "_checkpoints"

HERE = os.path.dirname(os.path.abspath(__file__))
# splunkd's python: the one fake `splunk` package (also on in-process tests' sys.path) and its runtime
SPLUNK_SITE = os.path.join(HERE, "splunk_site")
LAUNCHER = os.path.join(HERE, "splunkd_python.py")
SYSTEM_USER = "splunk-system-user"  # who the system session (passSystemAuth's token) is

# solnlib.credentials.CredentialManager's storage layout
CRED_SEP = "``splunk_cred_sep``"
CRED_END_MARK = (
    "``splunk_cred_sep``S``splunk_cred_sep``P``splunk_cred_sep``L``splunk_cred_sep``"
    "U``splunk_cred_sep``N``splunk_cred_sep``K``splunk_cred_sep``"
)
CRED_CHUNK = 255
ENCRYPTED = "******"  # what the conf holds for an encrypted field

# connection: the client's (address, port), the same for requests sent over one kept-alive connection
Request = namedtuple("Request", "method path query status authorized kind user connection", defaults=(None, None))


def credential_realm(app, conf):
    """The realm UCC (splunktaucclib RestCredentials) uses for a conf's encrypted fields."""
    return "__REST_CREDENTIAL__#%s#configs/conf-%s" % (app, conf)


def _load_runtime():
    """A fresh copy of splunk_site/splunkd_fake_runtime.py (what splunkd's python gives a script)."""
    spec = importlib.util.spec_from_file_location(
        "_fake_splunkd_runtime", os.path.join(SPLUNK_SITE, "splunkd_fake_runtime.py")
    )
    runtime = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runtime)
    return runtime


parse_conf_text = _load_runtime().parse_conf_text  # the stdlib .conf reader both sides of the fake share


def conf_text(stanzas):
    out = []
    for name, fields in stanzas.items():
        out.append("[%s]" % name)
        out.extend("%s = %s" % (k, v) for k, v in fields.items())
        out.append("")
    return "\n".join(out)


def _str_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _acl(app, owner="nobody", sharing=None):
    return {
        "app": app,
        "can_change_perms": "1",
        "can_list": "1",
        "can_share_app": "1",
        "can_share_global": "1",
        "can_share_user": "0",
        "can_write": "1",
        "modifiable": "1",
        "owner": owner,
        "perms": {"read": ["*"], "write": ["admin", "sc_admin"]},
        "removable": "0",
        "sharing": sharing or ("system" if app == "system" else "app"),
    }


def _matches(search, title, content, acl):
    """splunkd's `search` filter: every term must match; `k=v` against one
    field, a bare term against the title or any value; case-insensitive
    substring, `*` as wildcard."""
    for term in (search or "").split():
        if "=" in term and not term.startswith("="):
            key, value = term.split("=", 1)
            if key in ("name", "title"):
                values = [title]
            elif key.startswith("eai:acl."):
                values = [acl.get(key[len("eai:acl."):])]
            else:
                values = [content.get(key)]
        else:
            value, values = term, [title] + list(content.values())
        value = value.replace("\\=", "=")
        pattern = re.compile(".*".join(re.escape(p) for p in value.split("*")), re.I)
        if not any(isinstance(v, str) and pattern.search(v) for v in values):
            return False
    return True


@contextmanager
def activate_splunk_home(splunk_home):
    """Make this process look like a child of the splunkd whose $SPLUNK_HOME is
    `splunk_home` (a FakeSplunkd's, possibly in another process): sets
    SPLUNK_HOME and binds solnlib.splunkenv's hooks into splunkd's python
    (splunk.rest.simpleRequest, make_splunkhome_path) to the fake runtime,
    which finds the management port in etc/system/local/{server,web}.conf.
    Everything is restored on exit."""
    import solnlib.splunkenv as splunkenv

    runtime = _load_runtime()
    saved_env = {k: os.environ.get(k) for k in ("SPLUNK_HOME", "SPLUNK_BINDIP", "SPLUNKD_URI", "NO_PROXY", "no_proxy")}
    saved_attrs = {k: getattr(splunkenv, k) for k in ("simpleRequest", "msp")}
    os.environ["SPLUNK_HOME"] = os.path.abspath(str(splunk_home))
    os.environ.pop("SPLUNK_BINDIP", None)
    os.environ.pop("SPLUNKD_URI", None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    splunkenv.simpleRequest = runtime.simpleRequest
    splunkenv.msp = runtime.make_splunkhome_path
    try:
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for key, value in saved_attrs.items():
            setattr(splunkenv, key, value)


class _HttpError(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


class FakeSplunkd:
    """A fake splunkd on 127.0.0.1 (see the module docstring for what it serves).

    >>> with FakeSplunkd() as splunkd, splunkd.activate():   # in-process
    ...     splunkd.set_account("acme", token=..., region="custom", custom_url=...)
    ...     SplunkEdge(splunkd.session_key).read_account("acme")
    """

    def __init__(self, splunk_home=None, session_key=None, app=ADDON, server_name="fake-splunkd", port=0,
                 kvstore_failures=0, tls_context=None):
        self.app = app
        # an ssl.SSLContext makes it answer HTTPS, as a real splunkd's management port does (solnlib is
        # told enableSplunkdSSL = false either way: this is for clients that insist on https)
        self._tls_context = tls_context
        self.server_name = server_name
        self.session_key = session_key or "fake-session-" + uuid.uuid4().hex
        self._wanted_port = port
        self._own_home = splunk_home is None
        self.splunk_home = os.path.abspath(str(splunk_home)) if splunk_home else None
        self._lock = threading.RLock()
        # app -> layer ('default' | 'local') -> conf -> {stanza: {key: value}}
        self._confs = {}
        # (app, title) -> {'realm', 'username', 'clear_password'}
        self._passwords = {}
        # (app, name) -> {'fields': {...}, 'records': {key: record}}
        self._collections = {}
        self._kv_failures = [503] * kvstore_failures  # statuses to answer, one per KV store request
        self.requests = []
        # session key -> {"name", "roles", "capabilities"}; the system session may do anything
        self._sessions = {self.session_key: {"name": SYSTEM_USER, "roles": ["admin"],
                                             "capabilities": ["admin_all_objects"]}}
        self.python = sys.executable  # the interpreter of persistent REST handlers
        self._meta = {}  # installed app -> merged metadata {stanza: fields}
        self.script_errors = []  # stderr of every persistent-handler run
        self._failures = {}  # request kind -> statuses to answer, one per request
        self._server = None
        self._thread = None
        self.port = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        if self.splunk_home is None:
            self.splunk_home = tempfile.mkdtemp(prefix="fake-splunk-home-")
        handler = type("Handler", (_Handler,), {"splunkd": self})
        self._server = _Server(("127.0.0.1", self._wanted_port), handler)
        if self._tls_context is not None:
            self._server.socket = self._tls_context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._layout()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-splunkd", daemon=True)
        self._thread.start()
        return self

    def stop(self, remove_home=None):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
        if remove_home if remove_home is not None else self._own_home:
            shutil.rmtree(self.splunk_home, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("http" if self._tls_context is None else "https", self.port)

    def _layout(self):
        """$SPLUNK_HOME as solnlib and splunkd's python look at it."""
        home = self.splunk_home
        for parts in (("etc", "system", "local"), ("etc", "system", "default"), ("etc", "apps"),
                      ("var", "log", "splunk"), ("var", "lib", "splunk", "modinputs"), ("var", "run", "splunk")):
            os.makedirs(os.path.join(home, *parts), exist_ok=True)
        system_local = {
            "server": {"general": {"serverName": self.server_name}, "sslConfig": {"enableSplunkdSSL": "false"}},
            "web": {"settings": {"mgmtHostPort": "127.0.0.1:%d" % self.port, "startwebserver": "0"}},
        }
        for conf, stanzas in system_local.items():
            with open(os.path.join(home, "etc", "system", "local", conf + ".conf"), "w", encoding="utf-8") as handle:
                handle.write(conf_text(stanzas))
            for stanza, fields in stanzas.items():
                self.set_stanza(conf, stanza, fields, app="system")
        site = os.path.join(home, "lib", "python3", "site-packages")
        if os.path.isdir(site):
            shutil.rmtree(site)
        shutil.copytree(SPLUNK_SITE, site, ignore=shutil.ignore_patterns("__pycache__"))

    # -- the environment of splunkd's children ---------------------------------------
    def env(self, extra=None):
        """Environment of a modular input started by this splunkd."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", self.splunk_home),
            "LANG": "C.UTF-8",
            "SPLUNK_HOME": self.splunk_home,
            "SPLUNK_ETC": os.path.join(self.splunk_home, "etc"),
            "SPLUNK_DB": os.path.join(self.splunk_home, "var", "lib", "splunk"),
            "SPLUNK_SERVER_NAME": self.server_name,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        env.update(extra or {})
        return env

    def python_command(self, python, script, *args):
        """argv running `script` as splunkd would (only the stdlib, the script's
        own directory and the fake `splunk` package on sys.path)."""
        return [python, "-I", "-S", LAUNCHER, script] + list(args)

    def run_script(self, python, script, stdin=None, args=(), timeout=120):
        """Run a script of an installed app as splunkd would; a CompletedProcess (bytes)."""
        import subprocess

        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        return subprocess.run(self.python_command(python, script, *args), input=stdin, capture_output=True,
                              env=self.env(), cwd=self.splunk_home, timeout=timeout)

    def input_definition(self, stanzas, checkpoint_dir=None, app=None):
        """The XML splunkd writes on a modular input's stdin.

        stanzas: {"onepassword://name": {param: value, ...}}
        """
        from xml.sax.saxutils import escape, quoteattr

        checkpoint_dir = checkpoint_dir or os.path.join(self.splunk_home, "var", "lib", "splunk", "modinputs")
        parts = [
            "<input>",
            "  <server_host>%s</server_host>" % escape(self.server_name),
            "  <server_uri>%s</server_uri>" % escape(self.url),
            "  <session_key>%s</session_key>" % escape(self.session_key),
            "  <checkpoint_dir>%s</checkpoint_dir>" % escape(checkpoint_dir),
            "  <configuration>",
        ]
        for name, params in stanzas.items():
            parts.append("    <stanza name=%s app=%s>" % (quoteattr(name), quoteattr(app or self.app)))
            for key, value in params.items():
                parts.append("      <param name=%s>%s</param>" % (quoteattr(key), escape(_str_value(value))))
            parts.append("    </stanza>")
        parts += ["  </configuration>", "</input>", ""]
        return "\n".join(parts)

    def validation_definition(self, name, params):
        """The XML splunkd writes on stdin of `script --validate-arguments`
        when an input is created or edited (name: the input's name)."""
        from xml.sax.saxutils import escape, quoteattr

        parts = [
            "<items>",
            "  <server_host>%s</server_host>" % escape(self.server_name),
            "  <server_uri>%s</server_uri>" % escape(self.url),
            "  <session_key>%s</session_key>" % escape(self.session_key),
            "  <checkpoint_dir>%s</checkpoint_dir>" % escape(
                os.path.join(self.splunk_home, "var", "lib", "splunk", "modinputs")),
            "  <item name=%s>" % quoteattr(name),
        ]
        parts += ["    <param name=%s>%s</param>" % (quoteattr(k), escape(_str_value(v))) for k, v in params.items()]
        parts += ["  </item>", "</items>", ""]
        return "\n".join(parts)

    def install_app(self, source, name=None):
        """Copy a built app into etc/apps and load its default/ and local/ confs
        (collections.conf defines KV store collections, as at splunkd start), its
        metadata (default.meta, then local.meta) and its persistent REST endpoints
        (restmap.conf [script:*] with scripttype = persist)."""
        name = name or os.path.basename(os.path.normpath(source))
        target = os.path.join(self.splunk_home, "etc", "apps", name)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        meta = {}
        for file_name in ("default.meta", "local.meta"):
            path = os.path.join(target, "metadata", file_name)
            if os.path.exists(path):
                with open(path, encoding="utf-8") as handle:
                    for stanza, fields in parse_conf_text(handle.read()).items():
                        meta.setdefault(stanza, {}).update(fields)
        with self._lock:
            self._meta[name] = meta
        for layer in ("default", "local"):
            folder = os.path.join(target, layer)
            if not os.path.isdir(folder):
                continue
            for file_name in sorted(os.listdir(folder)):
                if not file_name.endswith(".conf"):
                    continue
                with open(os.path.join(folder, file_name), encoding="utf-8", errors="replace") as handle:
                    stanzas = parse_conf_text(handle.read())
                conf = file_name[:-5]
                with self._lock:
                    self._confs.setdefault(name, {}).setdefault(layer, {})[conf] = stanzas
                if conf == "collections":
                    for coll, fields in stanzas.items():
                        if coll != "default":
                            self.create_collection(
                                coll, {k[6:]: v for k, v in fields.items() if k.startswith("field.")}, app=name
                            )
        return target

    def activate(self):
        """Point this process's solnlib at this splunkd (see activate_splunk_home)."""
        return activate_splunk_home(self.splunk_home)

    # -- configuration ----------------------------------------------------------------
    def create_conf(self, conf, app=None):
        """Make a conf file exist (empty), as saving any stanza of it would."""
        with self._lock:
            self._confs.setdefault(app or self.app, {}).setdefault("local", {}).setdefault(conf, {})

    def set_stanza(self, conf, stanza, fields, app=None, encrypted=()):
        """Write a stanza to the app's local layer (replacing it), storing the
        `encrypted` fields as UCC does: '******' in the conf, their JSON in
        storage/passwords under the conf's credential realm."""
        app = app or self.app
        fields = {k: _str_value(v) for k, v in fields.items() if v is not None}
        secret = {k: fields[k] for k in encrypted if fields.get(k)}
        with self._lock:
            self._delete_credentials(app, conf, stanza)
            if secret:
                self._store_credential(app, credential_realm(app, conf), stanza, json.dumps(secret))
                for key in secret:
                    fields[key] = ENCRYPTED
            self._confs.setdefault(app, {}).setdefault("local", {}).setdefault(conf, {})[stanza] = fields

    def remove_stanza(self, conf, stanza, app=None):
        app = app or self.app
        with self._lock:
            self._confs.get(app, {}).get("local", {}).get(conf, {}).pop(stanza, None)
            self._delete_credentials(app, conf, stanza)

    def set_account(self, name, token=None, region=None, custom_url=None, verify_tls=None, ca_bundle=None, **extra):
        """An account stanza of <rest_root>_account.conf with its token encrypted."""
        fields = {"region": region, "custom_url": custom_url, "verify_tls": verify_tls, "ca_bundle": ca_bundle,
                  "token": token}
        fields.update(extra)
        self.set_stanza(ACCOUNT_CONF, name, fields, encrypted=("token",))

    def set_proxy(self, **fields):
        """The Proxy tab's stanza (proxy_enabled, proxy_type, proxy_url,
        proxy_port, proxy_username, proxy_password, proxy_rdns); the password
        is stored encrypted."""
        self.set_stanza(SETTINGS_CONF, "proxy", fields, encrypted=("proxy_password",))

    def set_log_level(self, level):
        self.set_stanza(SETTINGS_CONF, "logging", {"loglevel": level})

    def conf_stanza(self, conf, stanza, app=None):
        """The stanza as splunkd would serve it in the app's context (None if absent)."""
        with self._lock:
            found = self._visible_stanzas(app or self.app, conf)
        return None if found is None or stanza not in found else dict(found[stanza][0])

    def passwords(self, app=None):
        """storage/passwords entries of an app: [{'title','realm','username','clear_password'}]."""
        app = app or self.app
        with self._lock:
            return [dict(v, title=t) for (a, t), v in sorted(self._passwords.items()) if a == app]

    def _store_credential(self, app, realm, user, password):
        # solnlib CredentialManager.set_password: 255-character pieces, then an end mark
        pieces = [password[i:i + CRED_CHUNK] for i in range(0, len(password), CRED_CHUNK)] + [CRED_END_MARK]
        for index, piece in enumerate(pieces, 1):
            self._put_password(app, realm, "%s%s%d" % (user, CRED_SEP, index), piece)

    def _delete_credentials(self, app, conf, stanza):
        realm = credential_realm(app, conf)
        pattern = re.compile(re.escape(stanza + CRED_SEP) + r"\d+$")
        for key, value in list(self._passwords.items()):
            if key[0] == app and value["realm"] == realm and (value["username"] == stanza
                                                                 or pattern.match(value["username"])):
                del self._passwords[key]

    @staticmethod
    def _password_title(realm, username):
        esc = lambda s: (s or "").replace(":", "\\:")  # noqa: E731
        return "%s:%s:" % (esc(realm), esc(username))

    def _put_password(self, app, realm, username, password):
        self._passwords[(app, self._password_title(realm, username))] = {
            "realm": realm, "username": username, "clear_password": password,
        }

    def _visible_stanzas(self, app, conf):
        """{stanza: (merged fields, owning app)} for a conf in an app context, or
        None when no layer defines the conf."""
        layers = [("system", "default"), ("system", "local")]
        if app not in ("system", "-"):
            layers += [(app, "default"), (app, "local")]
        if app == "-":
            layers += [(a, layer) for a in sorted(self._confs) if a != "system" for layer in ("default", "local")]
        found = False
        defaults, stanzas = {}, {}
        for owner_app, layer in layers:
            data = self._confs.get(owner_app, {}).get(layer, {}).get(conf)
            if data is None:
                continue
            found = True
            for name, fields in data.items():
                if name == "default":
                    defaults.update(fields)
                    continue
                merged, _ = stanzas.get(name, ({}, None))
                merged = dict(merged)
                merged.update(fields)
                stanzas[name] = (merged, owner_app)
        if not found:
            return None
        return {name: (dict(defaults, **fields), owner) for name, (fields, owner) in stanzas.items()}

    # -- users, sessions and permissions ----------------------------------------------------
    def add_user(self, name, roles=(), capabilities=()):
        """A session key for a user with these roles (the roles they import and the
        capabilities the installed apps' authorize.conf grants them are added when
        a request arrives) and these extra capabilities."""
        key = "fake-session-%s-%s" % (name, uuid.uuid4().hex)
        with self._lock:
            self._sessions[key] = {"name": name, "roles": list(roles), "capabilities": list(capabilities)}
        return key

    def _session(self, headers):
        auth = headers.get("Authorization") or ""
        return self._sessions.get(auth[len("Splunk "):]) if auth.startswith("Splunk ") else None

    def _effective(self, session):
        """(roles, capabilities) of a session: roles with the ones they import, and the
        capabilities `enabled` for them in the installed apps' authorize.conf."""
        authorize = {}
        for app in self._confs.values():
            for layer in ("default", "local"):
                for stanza, fields in (app.get(layer, {}).get("authorize") or {}).items():
                    authorize.setdefault(stanza, {}).update(fields)
        roles, pending = [], list(session["roles"])
        while pending:
            role = pending.pop(0)
            if role not in roles:
                roles.append(role)
                imported = authorize.get("role_" + role, {}).get("importRoles", "")
                pending.extend(r for r in imported.split(";") if r)
        capabilities = set(session["capabilities"])
        for role in roles:
            capabilities.update(k for k, v in authorize.get("role_" + role, {}).items() if v == "enabled")
        return roles, sorted(capabilities)

    def _check_conf_write(self, session, app, conf, stanza, adding):
        """splunkd's rule (default.meta.conf.spec): adding or removing an object needs write
        access to its category ([<conf>], else the app's []), changing one needs write access
        to the object ([<conf>/<stanza>], else [<conf>], else []). admin_all_objects bypasses."""
        roles, capabilities = self._effective(session)
        meta = self._meta.get(app)
        if meta is None or "admin_all_objects" in capabilities:
            return
        candidates = ([] if adding else ["%s/%s" % (conf, quote(stanza, safe=""))]) + [conf, ""]
        access = next((meta[c]["access"] for c in candidates if "access" in meta.get(c, {})), "")
        found = re.search(r"write\s*:\s*\[([^\]]*)\]", access)
        allowed = {r.strip() for r in found.group(1).split(",")} if found else set()
        if "*" not in allowed and not allowed.intersection(roles):
            raise _HttpError(403, "You (user=%s) do not have permission to perform this operation "
                                  "(requires capability: admin_all_objects)." % session["name"])

    def _current_context(self, session, ns):
        roles, capabilities = self._effective(session)
        content = {"username": session["name"], "roles": roles, "capabilities": capabilities}
        return 200, ns + "authentication/current-context", "current-context", [
            Entry("context", ns + "authentication/current-context/context", content, _acl("system"))]

    # -- persistent REST endpoints (restmap.conf [script:*], scripttype = persist) --------------
    # What splunkd's persistconn/appserver.py protocol carries; the fake models these settings only.
    _SCRIPT_SETTINGS = {"match", "script", "scripttype", "handler", "requireAuthentication", "passSystemAuth",
                        "passSession", "passPayload", "passConf", "output_modes", "python.version",
                        "python.required"}

    def _script_endpoint(self, segments):
        """(app, stanza name, settings, path_info) of the persistent endpoint a path belongs to, or None."""
        for app, layers in sorted(self._confs.items()):
            stanzas = {}
            for layer in ("default", "local"):
                for name, fields in (layers.get(layer, {}).get("restmap") or {}).items():
                    stanzas.setdefault(name, {}).update(fields)
            for name, conf in sorted(stanzas.items()):
                if not name.startswith("script:") or conf.get("scripttype") != "persist":
                    continue
                unmodelled = set(conf) - self._SCRIPT_SETTINGS
                if unmodelled:
                    raise ValueError("fake splunkd does not model %s in [%s]" % (sorted(unmodelled), name))
                match = [s for s in conf["match"].split("/") if s]
                if segments[:len(match)] == match:
                    return app, name, conf, "/".join(segments[len(match):])
        return None

    def _serve_script(self, endpoint, method, session, token, owner, app, rest_path, query_pairs, body, headers,
                      query):
        """Run the endpoint's handler as splunkd's persistconn server does: one JSON request in,
        one reply out (here: one child process of self.python per request)."""
        owning_app, name, conf, path_info = endpoint
        flag = lambda key, default: conf.get(key, default).lower() in ("1", "true", "yes")  # noqa: E731
        request = {
            "output_mode": query.get("output_mode", "xml"),
            "output_mode_explicit": "output_mode" in query,
            "server": {"rest_uri": self.url, "hostname": self.server_name, "servername": self.server_name,
                       "guid": "00000000-0000-0000-0000-000000000000"},
            "query": query_pairs,
            "connection": {"src_ip": "127.0.0.1", "ssl": False, "listening_port": self.port},
            "rest_path": "/" + rest_path,
            "method": method,
        }
        if flag("passSystemAuth", "false"):
            request["system_authtoken"] = self.session_key
        if flag("passConf", "true"):
            request["restmap"] = {"name": name, "conf": dict(conf)}
        if path_info:
            request["path_info"] = path_info
        if flag("passSession", "true"):
            request["session"] = {"user": session["name"], "authtoken": token}
        if owner is not None:
            request["ns"] = {k: v for k, v in (("app", app), ("user", owner)) if v != "-"}
        if method in ("POST", "PUT"):
            if body and "json" not in (headers.get("Content-Type") or ""):
                request["form"] = [list(p) for p in parse_qsl(body.decode("utf-8"), keep_blank_values=True)]
            if body and flag("passPayload", "false"):
                request["payload"] = body.decode("utf-8")
        script = os.path.join(self.splunk_home, "etc", "apps", owning_app, "bin", conf["script"])
        driver = os.path.join(self.splunk_home, "lib", "python3", "site-packages", "splunkd_fake_appserver.py")
        try:
            run = subprocess.run(self.python_command(self.python, driver, script), input=json.dumps(request).encode(),
                                 capture_output=True, env=self.env(), cwd=self.splunk_home, timeout=120)
        except subprocess.TimeoutExpired:
            raise _HttpError(504, "persistent handler %s did not answer" % name) from None
        self.script_errors.append(run.stderr.decode("utf-8", "replace"))
        if run.returncode != 0:
            raise _HttpError(500, "persistent handler %s failed" % name)
        reply = json.loads(run.stdout.decode("utf-8"))
        status = reply.get("status", 200)
        status = status[0] if isinstance(status, list) else int(status)
        payload = reply.get("payload")
        if payload is None:
            return 204, "text/plain", "", "script"
        if isinstance(payload, (dict, list)):
            return status, "application/json; charset=UTF-8", json.dumps(payload), "script"
        return status, "text/plain; charset=UTF-8", str(payload), "script"

    # -- KV store ---------------------------------------------------------------------------
    def create_collection(self, name, fields=None, app=None):
        with self._lock:
            self._collections.setdefault((app or self.app, name), {"fields": dict(fields or {}), "records": {}})

    def kv_collections(self, app=None):
        app = app or self.app
        with self._lock:
            return {n: dict(c["fields"]) for (a, n), c in self._collections.items() if a == app}

    def kv_records(self, collection=CHECKPOINT_COLLECTION, app=None):
        """{_key: record} of a collection ({} when it does not exist)."""
        with self._lock:
            found = self._collections.get((app or self.app, collection))
            return copy.deepcopy(found["records"]) if found else {}

    def kv_states(self, collection=CHECKPOINT_COLLECTION, app=None):
        """{_key: json.loads(record['state'])}: the checkpoints as solnlib wrote them,
        decoded once more where the add-on handed solnlib its state as JSON text."""
        states = {k: json.loads(r["state"]) for k, r in self.kv_records(collection, app).items()}
        return {k: json.loads(v) if isinstance(v, str) else v for k, v in states.items()}

    def kv_put(self, key, record, collection=CHECKPOINT_COLLECTION, app=None):
        self.create_collection(collection, app=app)
        with self._lock:
            self._collections[(app or self.app, collection)]["records"][key] = dict(record, _key=key, _user="nobody")

    def fail_kvstore(self, times=1, status=503):
        """Answer the next `times` KV store requests with `status` (503 while
        the KV store is starting up)."""
        with self._lock:
            self._kv_failures.extend([status] * times)

    def fail_requests(self, kind, times=1, status=503):
        """Answer the next `times` requests of a kind (as in the request log, e.g. "auth")
        with `status`."""
        with self._lock:
            self._failures.setdefault(kind, []).extend([status] * times)

    # -- request log --------------------------------------------------------------------------
    def requests_for(self, kind=None, contains=None):
        with self._lock:
            return [r for r in self.requests if (kind is None or r.kind == kind)
                    and (contains is None or contains in r.path)]

    def clear_requests(self):
        with self._lock:
            del self.requests[:]

    # -- state file (CLI) ---------------------------------------------------------------------
    def load_state(self, state):
        """{'accounts': {name: fields incl. token}, 'proxy': {...}, 'log_level': str,
        'confs': {app: {conf: {stanza: fields}}}, 'kvstore': {collection: {key: record}},
        'kvstore_failures': int}"""
        for name, fields in (state.get("accounts") or {}).items():
            self.set_account(name, **fields)
        if state.get("proxy") is not None:
            self.set_proxy(**state["proxy"])
        if state.get("log_level"):
            self.set_log_level(state["log_level"])
        for app, confs in (state.get("confs") or {}).items():
            for conf, stanzas in confs.items():
                self.create_conf(conf, app=app)
                for stanza, fields in stanzas.items():
                    self.set_stanza(conf, stanza, fields, app=app)
        for collection, records in (state.get("kvstore") or {}).items():
            self.create_collection(collection)
            for key, record in records.items():
                self.kv_put(key, record, collection)
        if state.get("kvstore_failures"):
            self.fail_kvstore(int(state["kvstore_failures"]))

    def dump_state(self):
        """What other processes may want back: KV store and request log (no secrets)."""
        with self._lock:
            return {
                "kvstore": {"%s/%s" % key: copy.deepcopy(c["records"]) for key, c in self._collections.items()},
                "requests": [r._asdict() for r in self.requests],
            }

    # -- serving ---------------------------------------------------------------------------------
    def _handle(self, method, raw_path, headers, body):
        """(status, content type, body text, kind) for one request."""
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        raw_segments = [s for s in parts.path.split("/") if s != ""]
        json_mode = query.get("output_mode") == "json"
        kind = "unknown"
        if raw_segments[:1] == ["servicesNS"] and len(raw_segments) >= 3:
            owner, app = unquote(raw_segments[1]), unquote(raw_segments[2])
            rest = raw_segments[3:]
        elif raw_segments[:1] == ["services"]:
            owner, app, rest = None, "system", raw_segments[1:]
        else:
            owner, app, rest = None, "system", None
        segments = [unquote(s) for s in rest or []]
        if segments[:2] == ["storage", "collections"]:
            kind = "kvstore" if segments[2:3] == ["data"] else "kvstore_config"
        elif segments[:2] == ["storage", "passwords"]:
            kind = "passwords"
        elif segments[:1] == ["configs"]:
            kind = "conf"
        elif segments[:1] == ["properties"]:
            kind = "properties"
        elif segments[:2] == ["authentication", "current-context"]:
            kind = "auth"
        elif segments[:2] in (["data", "inputs"], ["data", "indexes"], ["search", "jobs"]):
            kind = segments[1]
        elif segments[:3] == ["search", "v2", "jobs"]:
            kind, segments = "jobs", segments[:1] + segments[2:]
        session = self._session(headers)
        json_out = json_mode or kind == "kvstore"
        try:
            if session is None:
                raise _HttpError(401, "call not properly authenticated")
            if rest is None:
                raise _HttpError(404, "Not Found")
            with self._lock:
                queued = self._failures.get(kind)
                failure = queued.pop(0) if queued else None
            if failure:
                raise _HttpError(failure, "Service Unavailable")
            if kind == "unknown":
                with self._lock:
                    endpoint = self._script_endpoint(segments)
                if endpoint is not None:  # served outside the lock: the handler calls back into splunkd
                    return self._serve_script(
                        endpoint, method, session, headers.get("Authorization")[len("Splunk "):], owner, app,
                        "/".join(segments), parse_qsl(parts.query, keep_blank_values=True), body, headers, query)
            owner = owner or "nobody"
            ns = "/servicesNS/%s/%s/" % (quote(owner, safe=""), quote(app, safe=""))
            result = None
            if kind == "unknown":
                with self._lock:
                    admin = find_admin_endpoint(self._confs, segments)
                if admin is not None:  # served outside the lock: the handler calls back into splunkd
                    result = serve_admin_endpoint(self, admin, method, session,
                                                  headers.get("Authorization")[len("Splunk "):], ns,
                                                  parse_qsl(body.decode("utf-8"), keep_blank_values=True), query)
            if kind.startswith("kvstore"):
                with self._lock:
                    failure = self._kv_failures.pop(0) if self._kv_failures else None
                if failure:
                    raise _HttpError(failure, "KV Store is initializing. Please try again later.")
            form = {}
            if body and "json" not in (headers.get("Content-Type") or ""):
                form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
            with self._lock:
                if result is not None:
                    pass
                elif kind == "jobs":
                    status, text = serve_search_jobs(self, method, segments[2:], form, query)
                    return status, "application/json; charset=UTF-8", text, kind
                elif kind == "kvstore":
                    status, text = self._kv_data(method, app, segments[3:], query, body)
                    return status, "application/json; charset=UTF-8", text, kind
                elif kind == "kvstore_config":
                    result = self._kv_config(method, app, owner, ns, segments[3:], form, query)
                elif kind == "passwords":
                    result = self._storage_passwords(method, app, owner, ns, rest[2:], form, query)
                elif kind == "conf":
                    result = self._configs(method, app, owner, ns, segments[1:], form, query, session)
                elif kind == "properties":
                    result = self._properties(method, app, owner, ns, segments[1:], form, query)
                elif kind == "auth" and method == "GET":
                    result = self._current_context(session, ns)
                elif kind == "inputs":
                    result = serve_data_inputs(self, method, app, owner, ns, segments[2:], form)
                elif kind == "indexes":
                    result = serve_indexes(self, method, app, owner, ns, segments[2:], query)
                else:
                    raise _HttpError(404, "fake splunkd does not serve %s" % parts.path)
            status, path, title, entries = result
            offset = int(query.get("offset") or 0)
            count = int(query.get("count") or 30)
            total = len(entries)
            page = entries[offset:] if count <= 0 else entries[offset:offset + count]
            per_page = count if count > 0 else total
            if json_out:
                text = json_feed(self.url, path, page, total, offset, per_page)
                return status, "application/json; charset=UTF-8", text, kind
            text = atom_feed(self.url, path, title, page, total, offset, per_page)
            return status, "text/xml; charset=UTF-8", text, kind
        except _HttpError as exc:
            if json_out:
                return exc.status, "application/json; charset=UTF-8", json_error(exc.text), kind
            return exc.status, "text/xml; charset=UTF-8", xml_error(exc.text), kind

    # properties ----------------------------------------------------------------------------------
    def _properties(self, method, app, owner, ns, segments, form, query):
        if not segments:
            if method == "POST":
                conf = form.get("__conf") or ""
                existed = self._visible_stanzas(app, conf) is not None
                self.create_conf(conf, app=app)
                return 303 if existed else 201, ns + "properties", "properties", []
            confs = sorted({c for a in self._confs for layer in self._confs[a].values() for c in layer
                            if self._visible_stanzas(app, c) is not None})
            entries = [Entry(c, ns + "properties/" + quote(c, safe=""), {}, _acl(app, owner)) for c in confs]
            return 200, ns + "properties", "properties", entries
        conf = segments[0]
        stanzas = self._visible_stanzas(app, conf)
        if stanzas is None:
            raise _HttpError(404, "Not Found")
        if len(segments) == 1 and method == "GET":
            base = ns + "properties/" + quote(conf, safe="")
            entries = [Entry(s, base + "/" + quote(s, safe=""), {}, _acl(owning, owner))
                       for s, (_, owning) in sorted(stanzas.items())]
            return 200, base, conf, entries
        raise _HttpError(404, "fake splunkd does not serve this properties call")

    # configs/conf-* -------------------------------------------------------------------------------
    def _stanza_entry(self, ns, conf, name, fields, owning_app, owner):
        content = dict(fields)
        content.setdefault("disabled", "0")
        return Entry(name, ns + "configs/conf-%s/%s" % (quote(conf, safe=""), quote(name, safe="")), content,
                     _acl(owning_app, owner))

    def _configs(self, method, app, owner, ns, segments, form, query, session):
        if not segments or not segments[0].startswith("conf-"):
            raise _HttpError(404, "Not Found")
        conf = segments[0][len("conf-"):]
        base = ns + "configs/conf-" + quote(conf, safe="")
        title = "conf-" + conf
        local = lambda: self._confs.setdefault(app, {}).setdefault("local", {}).setdefault(conf, {})  # noqa: E731
        if len(segments) == 1:
            if method == "POST":
                name = form.pop("name", None)
                if not name:
                    raise _HttpError(400, "Missing argument: name")
                existing = self._visible_stanzas(app, conf) or {}
                if name in existing:
                    raise _HttpError(409, "An object with name=%s already exists" % name)
                self._check_conf_write(session, app, conf, name, adding=True)
                local()[name] = {k: v for k, v in form.items() if not k.startswith("__")}
                fields, owning = self._visible_stanzas(app, conf)[name]
                return 201, base, title, [self._stanza_entry(ns, conf, name, fields, owning, owner)]
            if method != "GET":
                raise _HttpError(405, "Method not allowed")
            stanzas = self._visible_stanzas(app, conf) or {}
            entries = [self._stanza_entry(ns, conf, n, f, o, owner) for n, (f, o) in sorted(stanzas.items())
                       if _matches(query.get("search"), n, f, {"app": o})]
            return 200, base, title, entries
        name = segments[1]
        stanzas = self._visible_stanzas(app, conf) or {}
        if name not in stanzas:
            raise _HttpError(404, "Could not find object id=%s" % name)
        if len(segments) > 2:
            raise _HttpError(404, "fake splunkd does not serve configs/conf-%s/%s/%s" % (conf, name, segments[2]))
        if method in ("POST", "DELETE"):
            self._check_conf_write(session, app, conf, name, adding=method == "DELETE")
        if method == "POST":
            stanza = local().setdefault(name, {})
            stanza.update({k: v for k, v in form.items() if not k.startswith("__")})
        elif method == "DELETE":
            if name not in local():
                raise _HttpError(400, "Cannot delete stanza %s: it is defined in a default layer" % name)
            del local()[name]
            remaining = self._visible_stanzas(app, conf) or {}
            entries = [self._stanza_entry(ns, conf, n, f, o, owner) for n, (f, o) in sorted(remaining.items())]
            return 200, base, title, entries
        fields, owning = self._visible_stanzas(app, conf)[name]
        return 200, base, title, [self._stanza_entry(ns, conf, name, fields, owning, owner)]

    # storage/passwords ----------------------------------------------------------------------------
    def _password_entry(self, ns, app, owner, title, value):
        digest = base64.b64encode(hashlib.sha256(value["clear_password"].encode("utf-8")).digest()).decode()
        content = {
            "clear_password": value["clear_password"],
            "encr_password": "$7$" + digest,
            "password": "********",
            "realm": value["realm"],
            "username": value["username"],
        }
        return Entry(title, ns + "storage/passwords/" + quote(title, safe=""), content, _acl(app, owner))

    def _storage_passwords(self, method, app, owner, ns, raw_name_segments, form, query):
        base = ns + "storage/passwords"
        # the name may hold '/' (realms of UCC confs do): everything after storage/passwords/
        name = unquote("/".join(raw_name_segments))
        visible = {t: v for (a, t), v in self._passwords.items() if a in (app, "system")}
        if not name:
            if method == "POST":
                username, password = form.get("name"), form.get("password")
                if not username or password is None:
                    raise _HttpError(400, "Missing argument: name or password")
                realm = form.get("realm") or ""
                title = self._password_title(realm, username)
                if (app, title) in self._passwords:
                    raise _HttpError(409, "An object with name=%s already exists" % title)
                self._put_password(app, realm, username, password)
                entry = self._password_entry(ns, app, owner, title, self._passwords[(app, title)])
                return 201, base, "passwords", [entry]
            entries = [self._password_entry(ns, app, owner, t, v) for t, v in sorted(visible.items())
                       if _matches(query.get("search"), t, v, {"app": app})]
            return 200, base, "passwords", entries
        if not name.endswith(":"):
            name += ":"
        if name not in visible:
            raise _HttpError(404, "Could not find object id=%s" % name)
        key = (app, name) if (app, name) in self._passwords else ("system", name)
        if method == "POST":
            if "password" in form:
                self._passwords[key]["clear_password"] = form["password"]
        elif method == "DELETE":
            del self._passwords[key]
            remaining = {t: v for (a, t), v in self._passwords.items() if a in (app, "system")}
            return 200, base, "passwords", [self._password_entry(ns, app, owner, t, v)
                                             for t, v in sorted(remaining.items())]
        return 200, base, "passwords", [self._password_entry(ns, app, owner, name, self._passwords[key])]

    # storage/collections/config -------------------------------------------------------------------
    def _collection_entry(self, ns, app, owner, name, fields):
        content = {"field." + k: v for k, v in fields.items()}
        content.update({"disabled": "0", "profilingEnabled": "false", "replicate": "false"})
        return Entry(name, ns + "storage/collections/config/" + quote(name, safe=""), content, _acl(app, owner))

    def _kv_config(self, method, app, owner, ns, segments, form, query):
        base = ns + "storage/collections/config"
        if not segments:
            if method == "POST":
                name = form.get("name")
                if not name:
                    raise _HttpError(400, "Missing argument: name")
                if (app, name) in self._collections:
                    raise _HttpError(409, "An object with name=%s already exists" % name)
                fields = {k[6:]: v for k, v in form.items() if k.startswith("field.")}
                self.create_collection(name, fields, app=app)
                return 201, base, "collections-conf", [self._collection_entry(ns, app, owner, name, fields)]
            entries = [self._collection_entry(ns, app, owner, n, c["fields"])
                       for (a, n), c in sorted(self._collections.items())
                       if a == app and _matches(query.get("search"), n, {}, {"app": a})]
            return 200, base, "collections-conf", entries
        name = segments[0]
        found = self._collections.get((app, name))
        if found is None:
            raise _HttpError(404, "Could not find object id=%s" % name)
        if method == "DELETE":
            del self._collections[(app, name)]
            return 200, base, "collections-conf", []
        return 200, base, "collections-conf", [self._collection_entry(ns, app, owner, name, found["fields"])]

    # storage/collections/data ----------------------------------------------------------------------
    def _kv_data(self, method, app, segments, query, body):
        if not segments:
            raise _HttpError(404, "Not Found")
        found = self._collections.get((app, segments[0]))
        if found is None:
            raise _HttpError(404, "Collection: %s not found" % segments[0])
        records = found["records"]

        def document(text):
            try:
                value = json.loads(text.decode("utf-8") if text else "")
            except ValueError:
                raise _HttpError(400, "Request JSON is invalid") from None
            return value

        def save(doc):
            if not isinstance(doc, dict):
                raise _HttpError(400, "Document is not a JSON object")
            key = str(doc.get("_key") or uuid.uuid4().hex[:24])
            records[key] = dict(doc, _key=key, _user="nobody")
            return key

        if len(segments) == 1:
            if method == "GET":
                wanted = document(query["query"].encode()) if query.get("query") else {}
                out = [r for r in records.values() if all(r.get(k) == v for k, v in wanted.items())]
                return 200, json.dumps(out)
            if method == "POST":
                return 201, json.dumps({"_key": save(document(body))})
            if method == "DELETE":
                wanted = document(query["query"].encode()) if query.get("query") else {}
                for key in [k for k, r in records.items() if all(r.get(f) == v for f, v in wanted.items())]:
                    del records[key]
                return 200, ""
            raise _HttpError(405, "Method not allowed")
        key = segments[1]
        if key == "batch_save" and method == "POST":
            docs = document(body)
            if not isinstance(docs, list) or not docs:
                raise _HttpError(400, "batch_save needs a non-empty JSON array")
            if len(docs) > 1000:
                raise _HttpError(400, "Request exceeds API limits")
            return 200, json.dumps([save(doc) for doc in docs])
        if method == "POST":
            doc = document(body)
            if not isinstance(doc, dict):
                raise _HttpError(400, "Document is not a JSON object")
            return 200, json.dumps({"_key": save(dict(doc, _key=key))})
        if key not in records:
            raise _HttpError(404, "Could not find object.")
        if method == "DELETE":
            del records[key]
            return 200, ""
        return 200, json.dumps(records[key])


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive clients may hold idle connections
    allow_reuse_address = True


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # the status line and headers, then the body, go out in two writes: with Nagle's algorithm on,
    # a keep-alive client's delayed ACK held each answer's body back 40 ms
    disable_nagle_algorithm = True
    server_version = "Splunkd"
    sys_version = ""
    timeout = 60
    splunkd = None  # set on the subclass made per FakeSplunkd

    def _serve(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        splunkd = self.splunkd
        try:
            status, content_type, text, kind = splunkd._handle(method, self.path, self.headers, body)
        except Exception as exc:  # a bug of the fake: answer 500 and say so
            status, content_type, text, kind = 500, "text/plain", "fake splunkd error: %r" % (exc,), "error"
        data = text.encode("utf-8")
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with splunkd._lock:
            session = splunkd._session(self.headers)
            splunkd.requests.append(Request(
                method, unquote(parts.path), query, status, session is not None, kind,
                session["name"] if session else None, tuple(self.client_address[:2]),
            ))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")

    def log_message(self, *args):
        pass
