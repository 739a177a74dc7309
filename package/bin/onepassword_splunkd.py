"""splunkd's REST API as the Splunk edge asks it: one kept-alive connection, every read bounded.

Why not solnlib's clients: each opens a new connection for every request (requests.request,
no session) and, for each, loads the host's default CA store although it does not verify
splunkd's certificate. Against splunkd's HTTPS management port that is a TLS handshake and
a CA store load (about 25 ms of CPU on a Debian host) per question, seven per idle input run.
Here one connection serves every question of an edge, over a TLS context that loads no CA
store. splunkd's certificate is not verified, as solnlib does not verify it: splunkd is this
host's own, usually with Splunk's self-signed certificate.

What is read here keeps solnlib's formats: conf stanzas whose encrypted fields read "******"
and are stored, as JSON, in storage/passwords under the conf's realm (split into chunks when
long: credentials.CredentialManager's layout); a checkpoint record {"_key", "state"} whose
state is json.dumps of what the add-on saved (modular_input.checkpointer.KVStoreCheckpointer's).
"""

import http.client
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse

from onepassword_events.errors import CollectorError

CONNECT_AND_READ_SECONDS = 30  # each connect and each read; splunkd answers local questions in milliseconds
MAX_ANSWER_BYTES = 16 * 1024 * 1024
RETRY_WAITS = (0.2, 0.4, 0.8)  # a KV store starting up, a dropped keep-alive: as solnlib retries (3 times)
ENCRYPTED = "******"
_CRED_SEP = "``splunk_cred_sep``"
_CRED_END = "".join(f"{_CRED_SEP}{c}" for c in "SPLUNK") + _CRED_SEP  # after a password's last chunk
_CHUNK_NAME = re.compile(rf"(.+){re.escape(_CRED_SEP)}(\d+)")
_REFUSED = object()  # request(missing=...) not given: a 404 is a SplunkdError like any refusal
_NOTHING = object()  # request(missing=_NOTHING): what a 404 returns, told apart from any JSON answer


class SplunkdError(CollectorError):
    """splunkd could not be asked, or refused: `reason` is short and ours (a status, or what
    happened to the connection), never text splunkd sent."""

    category = "configuration"

    def __init__(self, message, reason, status=None):
        super().__init__(message)
        self.reason = reason
        self.status = status


def credential_realm(app, conf_name):
    """The realm UCC's REST handlers (solnlib) store a conf's encrypted fields under."""
    return f"__REST_CREDENTIAL__#{app}#configs/conf-{conf_name}"


class Splunkd:
    """One session's questions to splunkd under /servicesNS/<owner>/<app>/, over one connection."""

    def __init__(self, splunkd_uri, session_key, app, owner="nobody", sleep=time.sleep):
        uri = urllib.parse.urlsplit(splunkd_uri)
        if uri.scheme not in ("http", "https") or not uri.hostname:
            raise ValueError(f"splunkd's address {splunkd_uri!r} is not an http(s) URL")
        self.uri = f"{uri.scheme}://{uri.netloc}"
        self._https = uri.scheme == "https"
        self._host, self._port = uri.hostname, uri.port or 8089
        self._headers = {"Authorization": f"Splunk {session_key}", "Accept": "application/json"}
        self.app = app
        self._namespace = f"/servicesNS/{urllib.parse.quote(owner, safe='')}/{urllib.parse.quote(app, safe='')}/"
        self._sleep = sleep
        self._lock = threading.Lock()  # one exchange at a time on the one connection
        self._connection = None

    def get(self, path, missing=_REFUSED, **query):
        """The JSON splunkd answers a GET of path (relative to the namespace unless it starts with /);
        `missing` when splunkd answers 404 and it is given; SplunkdError when splunkd refuses."""
        return self.request("GET", path, query, missing=missing)

    def request(self, method, path, query=None, body=None, form=None, missing=_REFUSED):
        """body: sent as JSON; form: as form fields; missing: what a 404 returns (by default it raises).
        Every request the add-on makes is one splunkd treats as repeatable (reads, upserts by key,
        deletes by key, creating what is missing), so a 5xx or a dropped connection is asked again,
        up to len(RETRY_WAITS) times."""
        base = path if path.startswith("/") else self._namespace + path
        target = base + "?" + urllib.parse.urlencode(dict(query or {}, output_mode="json"))
        if form is not None:
            data, content_type = urllib.parse.urlencode(form).encode("utf-8"), "application/x-www-form-urlencoded"
        elif body is not None:
            data, content_type = json.dumps(body).encode("utf-8"), "application/json"
        else:
            data = content_type = None
        for wait in RETRY_WAITS + (None,):
            try:
                status, text = self._exchange(method, target, data, content_type)
            except SplunkdError as exc:
                failure = exc
            else:
                if status < 400:
                    return _json(text, method, path)
                if status == 404 and missing is not _REFUSED:
                    return missing
                failure = SplunkdError(f"splunkd answered {method} {path} with HTTP {status}", f"HTTP {status}", status)
                if status < 500:
                    raise failure
            if wait is None:
                raise failure
            self._sleep(wait)

    def _exchange(self, method, target, data, content_type):
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        with self._lock:
            connection = self._connection or self._connect()
            try:
                connection.request(method, target, body=data, headers=headers)
                response = connection.getresponse()
                text = response.read(MAX_ANSWER_BYTES + 1)
                if len(text) > MAX_ANSWER_BYTES:
                    raise SplunkdError(f"splunkd's answer to {method} is larger than {MAX_ANSWER_BYTES} bytes",
                                       "answer too large")
                if response.will_close:
                    self.close()
                return response.status, text.decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise SplunkdError(f"could not ask splunkd at {self.uri}", _connection_reason(exc)) from None
            except SplunkdError:
                self.close()
                raise

    def _connect(self):
        if self._https:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store: nothing here is verified (see above)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self._connection = http.client.HTTPSConnection(self._host, self._port, timeout=CONNECT_AND_READ_SECONDS,
                                                           context=context)
        else:
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=CONNECT_AND_READ_SECONDS)
        return self._connection

    def close(self):
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    # -- conf files and their encrypted fields -------------------------------------------------------

    def conf_stanzas(self, conf_name):
        """{stanza: fields} of a conf file as this app sees it (encrypted fields still "******");
        None when splunkd has no such conf file (the add-on's page never saved one)."""
        answer = self.get(f"configs/conf-{urllib.parse.quote(conf_name, safe='')}", missing=_NOTHING, count="-1")
        if answer is _NOTHING:
            return None
        return {entry.get("name"): _fields(entry) for entry in _entries(answer)}

    def conf_stanza(self, conf_name, stanza):
        """A stanza's fields (encrypted ones still "******"), or None when it does not exist."""
        quoted = urllib.parse.quote(stanza, safe="")
        answer = self.get(f"configs/conf-{urllib.parse.quote(conf_name, safe='')}/{quoted}", missing=_NOTHING)
        if answer is _NOTHING:
            return None
        entries = _entries(answer)
        return _fields(entries[0]) if entries else None

    def decrypted(self, conf_name, stanza, fields):
        """fields with every "******" replaced by the clear value stored for the stanza."""
        encrypted = [key for key, value in fields.items() if value == ENCRYPTED]
        if not encrypted:
            return fields
        clear = self.clear_password(credential_realm(self.app, conf_name), stanza)
        try:
            values = json.loads(clear) if clear is not None else {}
            decrypted = {key: values[key] for key in encrypted}
        except (ValueError, TypeError, KeyError):
            raise SplunkdError(f"the encrypted fields of [{stanza}] in {conf_name}.conf have no readable stored "
                               "value; save the stanza again on the add-on's page", "no stored credential") from None
        return dict(fields, **decrypted)

    def clear_password(self, realm, user):
        """The clear password stored for realm:user, its chunks joined; None when there is none."""
        answer = self.get("storage/passwords", count="-1", search=f"realm={realm}")
        chunks, whole = {}, None
        for entry in _entries(answer):
            content = _content(entry)
            if content.get("realm") != realm:
                continue
            chunk = _CHUNK_NAME.match(entry.get("name", ""))
            if chunk and content.get("username", "").split(_CRED_SEP)[0] == user:
                chunks[int(chunk.group(2))] = content.get("clear_password", "")
            elif not chunk and content.get("username") == user:
                whole = content.get("clear_password")
        if not chunks:
            return whole
        joined = []
        for index in sorted(chunks):
            if chunks[index] == _CRED_END:
                break
            joined.append(chunks[index])
        return "".join(joined)


def _json(text, method, path):
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise SplunkdError(f"splunkd's answer to {method} {path} is not JSON", "answer not JSON") from None


def _entries(answer):
    """The entries of a splunkd listing (dictionaries only): SplunkdError when the answer is not one."""
    entries = answer.get("entry") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        raise SplunkdError("splunkd's answer is not a listing of entries", "unexpected answer")
    return [entry for entry in entries if isinstance(entry, dict)]


def _content(entry):
    content = entry.get("content")
    return content if isinstance(content, dict) else {}


def _fields(entry):
    """A stanza's own fields: what splunkd adds about it (eai:*, disabled) left out."""
    return {key: value for key, value in _content(entry).items()
            if not key.startswith("eai:") and key != "disabled"}


def _connection_reason(exc):
    """What happened to the connection, in our words (the type decides, never its text)."""
    if isinstance(exc, (TimeoutError, socket.timeout)):  # one class from Python 3.10 on, two on 3.9
        return f"no answer within {CONNECT_AND_READ_SECONDS} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return "connection dropped"
    return f"network error ({type(exc).__name__})"
