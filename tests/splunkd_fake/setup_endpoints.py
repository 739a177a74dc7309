"""What the fake splunkd serves for the add-on's setup pages (Configuration, Inputs):

  <name>[/<entity>] of an installed app's [admin_external:<name>] (restmap.conf)
      GET list, POST create (`name`) or edit, DELETE remove: the app's handler script runs
      as splunkd runs it (splunk_site/splunk/admin.py), one process per request
  data/inputs/<scheme>[/<name>[/enable|disable]]
      the modular input's stanzas [<scheme>://<name>] of inputs.conf (GET, POST, DELETE);
      inherited from [<scheme>] and [default] as splunkd shows them
  data/indexes
      GET: splunkd's built-in indexes and the [<index>] stanzas of indexes.conf (no
      data/indexes/_validateName: 404, as from a splunkd older than that action)
  search/jobs[/<sid>[/results]]
      the one search the pages run (the footer's app build: `| rest services/apps/local/<app>
      splunk_server=local | fields build`, answered from the app's app.conf); any other search
      ends as a FAILED job saying the fake runs no searches

Each function returns (status, path, title, [Entry]) for fake.py's feed rendering, or
(status, text) for search answers, and raises fake._HttpError to refuse.
"""

import json
import os
import re
import subprocess
import uuid
from urllib.parse import quote

from .render import Entry

# what splunkd keeps for itself rather than passing to an EAI handler
EAI_RESERVED = {"output_mode", "count", "offset", "search", "sort_key", "sort_dir", "sort_mode", "f", "summarize",
                "_"}
# etc/system/default/indexes.conf of Splunk Enterprise 9
BUILT_IN_INDEXES = ("_audit", "_configtracker", "_internal", "_introspection", "_metrics", "_metrics_rollup",
                    "_telemetry", "_thefishbucket", "history", "main", "summary")
APP_BUILD_SEARCH = re.compile(r"^\|\s*rest\s+/?services/apps/local/(?P<app>[^\s/]+)\s+splunk_server=local\s*"
                              r"\|\s*fields\s+build\s*$")


def _error(status, text):
    from .fake import _HttpError

    return _HttpError(status, text)


# -- [admin_external:*] ---------------------------------------------------------------------
def find_admin_endpoint(confs, segments):
    """(app, endpoint name, restmap settings, entity or None) of an [admin_external:] path, or None."""
    if not segments:
        return None
    for app, layers in sorted(confs.items()):
        stanzas = {}
        for layer in ("default", "local"):
            for name, fields in (layers.get(layer, {}).get("restmap") or {}).items():
                stanzas.setdefault(name, {}).update(fields)
        settings = stanzas.get("admin_external:" + segments[0])
        if settings is not None:
            if len(segments) > 2:
                raise _error(404, "fake splunkd does not serve %s" % "/".join(segments))
            return app, segments[0], settings, segments[1] if len(segments) == 2 else None
    return None


def serve_admin_endpoint(splunkd, endpoint, method, session, token, ns, form_pairs, query):
    owning_app, name, settings, entity = endpoint
    if method == "GET":
        action, args = "list", [(k, v) for k, v in query.items() if k not in EAI_RESERVED]
    elif method == "DELETE":
        action, args = "remove", []
    elif method == "POST":
        args = [(k, v) for k, v in form_pairs if k not in EAI_RESERVED]
        action = "edit" if entity else "create"
        if action == "create":
            entity = next((v for k, v in args if k == "name"), None)
            args = [(k, v) for k, v in args if k != "name"]
            if not entity:
                raise _error(400, "Missing argument: name")
    else:
        raise _error(405, "Method not allowed")
    if entity is not None and action != "create" and not entity:
        raise _error(404, "Not Found")
    allowed = [a.strip() for a in settings.get("handleractions", "").split(",")]
    if action not in allowed:
        raise _error(405, "Action %s is not supported by handler %s" % (action, name))
    grouped = {}
    for key, value in args:
        grouped.setdefault(key, []).append(value)
    request = {"action": action, "id": entity, "args": grouped, "session_key": token, "user": session["name"],
               "app": owning_app}
    script = os.path.join(splunkd.splunk_home, "etc", "apps", owning_app, "bin", settings["handlerfile"])
    try:
        run = subprocess.run(splunkd.python_command(splunkd.python, script), input=json.dumps(request).encode(),
                             capture_output=True, env=splunkd.env({"FAKE_SPLUNKD_EAI_REQUEST": "stdin"}),
                             cwd=splunkd.splunk_home, timeout=120)
    except subprocess.TimeoutExpired:
        raise _error(504, "handler %s did not answer" % name) from None
    splunkd.script_errors.append(run.stderr.decode("utf-8", "replace"))
    if run.returncode != 0:
        raise _error(500, "handler %s failed (exit %d)" % (name, run.returncode))
    reply = json.loads(run.stdout.decode("utf-8"))
    if "message" in reply:
        raise _error(reply["status"], reply["message"])
    base = ns + quote(name, safe="")
    entries = [Entry(e["name"], base + "/" + quote(e["name"], safe=""), e["content"], e["acl"])
               for e in reply["entries"]]
    return reply["status"], base, name, entries


# -- data/inputs/<scheme> --------------------------------------------------------------------
def serve_data_inputs(splunkd, method, app, owner, ns, segments, form):
    """segments: after data/inputs. Caller holds splunkd._lock."""
    if not segments:
        raise _error(404, "fake splunkd serves data/inputs/<scheme> only")
    scheme = segments[0]
    base = ns + "data/inputs/" + quote(scheme, safe="")
    stanzas = splunkd._visible_stanzas(app, "inputs") or {}
    if scheme not in stanzas:
        raise _error(404, "Not Found")
    prefix = scheme + "://"
    local = splunkd._confs.setdefault(app, {}).setdefault("local", {}).setdefault("inputs", {})
    inherited = dict(stanzas[scheme][0])

    def entry(stanza):
        fields, owning = splunkd._visible_stanzas(app, "inputs")[stanza]
        content = dict(inherited, **fields)
        content.setdefault("disabled", "0")
        short = stanza[len(prefix):]
        from .fake import _acl

        return Entry(short, base + "/" + quote(short, safe=""), content, _acl(owning, owner))

    if len(segments) == 1:
        if method == "POST":
            name = form.pop("name", None)
            if not name:
                raise _error(400, "Missing argument: name")
            if prefix + name in stanzas:
                raise _error(409, "An object with name=%s already exists" % name)
            local[prefix + name] = {k: v for k, v in form.items() if not k.startswith("__")}
            return 201, base, scheme, [entry(prefix + name)]
        if method != "GET":
            raise _error(405, "Method not allowed")
        return 200, base, scheme, [entry(s) for s in sorted(stanzas) if s.startswith(prefix)]
    stanza = prefix + segments[1]
    if len(segments) == 2 and segments[1] == "_reload":
        return 200, base, scheme, []
    if stanza not in stanzas:
        raise _error(404, "Could not find object id=%s" % segments[1])
    if len(segments) == 3 and segments[2] in ("enable", "disable") and method == "POST":
        local.setdefault(stanza, {})["disabled"] = "1" if segments[2] == "disable" else "0"
    elif len(segments) > 2:
        raise _error(404, "Not Found")
    elif method == "POST":
        local.setdefault(stanza, {}).update({k: v for k, v in form.items() if not k.startswith("__")})
    elif method == "DELETE":
        if stanza not in local:
            raise _error(400, "Cannot delete %s: it is defined in a default layer" % stanza)
        del local[stanza]
        return 200, base, scheme, []
    return 200, base, scheme, [entry(stanza)]


# -- data/indexes ------------------------------------------------------------------------------
def serve_indexes(splunkd, method, app, owner, ns, segments, query):
    """Caller holds splunkd._lock."""
    if segments:  # as a splunkd without _validateName (splunktaucclib's IndexName then checks the name itself)
        raise _error(404, "Not Found")
    if method != "GET":
        raise _error(405, "Method not allowed")
    from .fake import _acl, _matches

    configured = splunkd._visible_stanzas("-", "indexes") or {}
    names = sorted(set(BUILT_IN_INDEXES) | set(configured))
    base = ns + "data/indexes"
    entries = []
    for name in names:
        content = {"datatype": "event", "disabled": "0", "isInternal": "1" if name.startswith("_") else "0",
                   "totalEventCount": "0"}
        content.update(configured.get(name, ({}, None))[0])
        if not _matches(query.get("search"), name, content, {"app": "system"}):
            continue
        entries.append(Entry(name, base + "/" + quote(name, safe=""), content, _acl("system", owner)))
    return 200, base, "indexes", entries


# -- search/jobs ---------------------------------------------------------------------------------
def _job_entry(sid, job):
    rows = job["results"] or []
    content = {"sid": sid, "dispatchState": "FAILED" if job["failure"] else "DONE", "isDone": True,
               "isFailed": bool(job["failure"]), "doneProgress": 1, "resultCount": len(rows), "eventCount": 0,
               "resultPreviewCount": len(rows), "request": {"search": job["search"]},
               "messages": [{"type": "FATAL", "text": job["failure"]}] if job["failure"] else []}
    return {"name": job["search"], "content": content}


def serve_search_jobs(splunkd, method, segments, form, query):
    """(status, JSON text). Caller holds splunkd._lock."""
    jobs = splunkd.__dict__.setdefault("_search_jobs", {})
    if not segments and method == "GET":  # the jobs asked for by id (how @splunk/search-job polls)
        wanted = [sid for sid in (query.get("id") or "").split(",") if sid]
        return 200, json.dumps({"entry": [_job_entry(sid, jobs[sid]) for sid in wanted if sid in jobs]})
    if not segments:
        if method != "POST":
            raise _error(405, "Method not allowed")
        search = (form.get("search") or "").strip()
        sid = "fake_%s" % uuid.uuid4().hex[:12]
        found = APP_BUILD_SEARCH.match(search)
        job = {"search": search, "results": None, "failure": None}
        if found:
            install = splunkd._visible_stanzas(found.group("app"), "app") or {}
            build = install.get("install", ({}, None))[0].get("build")
            job["results"] = [{"build": build}] if build else []
        else:
            job["failure"] = "fake splunkd runs no searches but the app build one: %s" % search
        jobs[sid] = job
        return 201, json.dumps({"sid": sid})
    job = jobs.get(segments[0])
    if job is None:
        raise _error(404, "Unknown sid.")
    if len(segments) == 1:
        return 200, json.dumps({"entry": [_job_entry(segments[0], job)]})
    if segments[1] in ("results", "results_preview") and method == "GET":
        rows = job["results"] or []
        fields = sorted({k for row in rows for k in row})
        return 200, json.dumps({"preview": False, "init_offset": 0, "messages": [],
                                "fields": [{"name": f} for f in fields], "results": rows})
    if segments[1] == "control":
        return 200, json.dumps({"messages": [{"type": "INFO", "text": "Search job cancelled."}]})
    raise _error(404, "Not Found")
