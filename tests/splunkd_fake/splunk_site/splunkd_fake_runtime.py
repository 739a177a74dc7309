"""What splunkd's own Python (`import splunk`) gives a script, minus splunkd.

Only the pieces the add-on's libraries reach for: the management URI read from
$SPLUNK_HOME/etc/system/{default,local}/{server,web}.conf (as splunk.clilib's
cli_common.getMgmtUri does), `splunk.rest.simpleRequest`, and
`splunk.clilib.bundle_paths.make_splunkhome_path`.

Stdlib only: copied into <fake SPLUNK_HOME>/lib/python3/site-packages beside a
tiny `splunk` package, the same one in-process tests import (tests/conftest.py puts
splunk_site on sys.path); activate_splunk_home also loads a fresh copy by path.
"""

import json
import os
import ssl
import urllib.parse


class SplunkdException(Exception):
    def __init__(self, msg="", extendedMessages=None, statusCode=None):
        super().__init__(msg)
        self.msg = msg
        self.extendedMessages = extendedMessages
        self.statusCode = statusCode


class RESTException(SplunkdException):
    def __init__(self, statusCode=500, msg=""):
        super().__init__(msg, statusCode=statusCode)


class AuthenticationFailed(SplunkdException):
    pass


class AuthorizationFailed(SplunkdException):
    pass


class LicenseRestriction(SplunkdException):
    pass


class ResourceNotFound(SplunkdException):
    pass


class InternalServerError(SplunkdException):
    pass


class SplunkdConnectionException(SplunkdException):
    pass


def splunk_home():
    return os.environ["SPLUNK_HOME"]


def make_splunkhome_path(parts):
    """$SPLUNK_HOME joined with parts; refuses paths escaping $SPLUNK_HOME."""
    home = os.path.normpath(splunk_home())
    path = os.path.normpath(os.path.join(home, *parts))
    if os.path.commonpath([home, path]) != home:
        raise ValueError("illegal escape from parent directory %r: %r" % (home, path))
    return path


def parse_conf_text(text):
    """A .conf or .meta file's text as {stanza: {key: value}} (keys before any stanza: 'default').

    The tests' one standard-library .conf reader, for the fake splunkd, which runs under any
    python3; everything else reads through tests/conf_reader.py."""
    stanzas = {}
    current = stanzas.setdefault("default", {})
    pending = ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + "\n"
            continue
        line, pending = pending + line, ""
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stanzas.setdefault(stripped[1:-1].strip(), {})
            continue
        if "=" in stripped:
            key, value = stripped.split("=", 1)
            current[key.strip()] = value.strip()
    if not stanzas["default"]:
        del stanzas["default"]
    return stanzas


def read_conf(path):
    """{stanza: {key: value}} of one .conf file ({} when absent)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_conf_text(handle.read())
    except OSError:
        return {}


def system_conf_value(conf, stanza, key, default=None):
    value = default
    for layer in ("default", "local"):
        found = read_conf(os.path.join(splunk_home(), "etc", "system", layer, conf + ".conf"))
        if key in found.get(stanza, {}):
            value = found[stanza][key]
    return value


def getLocalServerInfo():
    """The management URI, e.g. https://127.0.0.1:8089."""
    ssl_on = str(system_conf_value("server", "sslConfig", "enableSplunkdSSL", "true")).strip().lower()
    scheme = "https" if ssl_on in ("1", "true", "t", "yes", "y") else "http"
    host_port = system_conf_value("web", "settings", "mgmtHostPort", "127.0.0.1:8089").strip()
    return "%s://%s" % (scheme, host_port)


def _send(uri, method, data, headers, timeout):
    """One request straight to splunkd (never through a proxy), as httplib2 does.

    http.client rather than urllib: urllib builds an HTTPS handler, and with
    it an SSL context loading the system CA store, for every call, which would
    bill the input's measured start-up for work real splunkd clients don't do.
    """
    import http.client

    parts = urllib.parse.urlsplit(uri)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, target, body=data, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        return ServerResponse(answer.status, answer.reason, dict(answer.getheaders())), content
    finally:
        connection.close()


class ServerResponse(dict):
    """Like httplib2's Response: the headers, plus .status and .reason."""

    def __init__(self, status, reason, headers):
        super().__init__((k.lower(), v) for k, v in headers.items())
        self.status = status
        self.reason = reason


def simpleRequest(path, sessionKey=None, getargs=None, postargs=None, method="GET", raiseAllErrors=False,
                  proxyMode=False, rawResult=False, timeout=None, jsonargs=None, token=False):
    """splunk.rest.simpleRequest: returns (serverResponse, serverContent bytes)."""
    if path.startswith("http://") or path.startswith("https://"):
        uri = path
    elif path.startswith("/"):
        uri = getLocalServerInfo() + path
    else:
        uri = getLocalServerInfo() + "/services/" + path
    if getargs:
        uri += ("&" if "?" in uri else "?") + urllib.parse.urlencode(getargs, doseq=True)
    headers = {}
    if sessionKey:
        headers["Authorization"] = ("Bearer " if token else "Splunk ") + sessionKey
    data = None
    if jsonargs is not None:
        data = (jsonargs if isinstance(jsonargs, str) else json.dumps(jsonargs)).encode("utf-8")
        headers["Content-Type"] = "application/json"
    elif postargs is not None:
        data = urllib.parse.urlencode(postargs, doseq=True).encode("utf-8")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if data is not None and method == "GET":
        method = "POST"
    try:
        response, content = _send(uri, method, data, headers, timeout or 30)
    except OSError as exc:
        raise SplunkdConnectionException("error connecting to %s: %s" % (uri, exc)) from None
    if rawResult:
        return response, content
    status = response.status
    if status == 401:
        raise AuthenticationFailed("splunkd refused the session key (HTTP 401)", statusCode=401)
    if status == 402:
        raise LicenseRestriction("HTTP 402", statusCode=402)
    if status == 403:
        raise AuthorizationFailed("HTTP 403", statusCode=403)
    if status == 404 and raiseAllErrors:
        raise ResourceNotFound(uri, statusCode=404)
    if status >= 400 and raiseAllErrors:
        raise InternalServerError("HTTP %d from %s" % (status, uri), statusCode=status)
    return response, content


def getSessionKey():
    """Only REST handlers and searches have an ambient session key; a modular
    input gets its key on stdin."""
    return None
