"""splunkd's `splunk.admin` as an [admin_external:] handler sees it under the fake splunkd.

The fake splunkd runs a handler script (bin/<handlerfile>) as __main__, one process per
request, with the request on stdin as JSON ({"action", "id", "args": {name: [values]},
"session_key", "user", "app"}). The script ends in admin.init(handler class, context);
here init builds the handler from the request as splunkd's admin.py does, lets setup()
declare its arguments, refuses arguments it did not declare (and, on create, missing
required ones) as splunkd does, runs handleCreate/List/Edit/Remove and writes the answer
on stdout as JSON: {"status", "entries": [{"name", "content", "acl"}]} or
{"status", "message"}.

The handler classes (MConfigHandler, ConfigInfo, eai_request) are the in-process fake's
(tests/fakes/splunk/admin.py), copied beside this module as splunk/_admin_model.py.
"""

import __main__
import json
import sys

from splunk._admin_model import *  # noqa: F401,F403  (the names splunktaucclib imports)
from splunk._admin_model import ConfigInfo, eai_request

ACTIONS = {"create": 1, "list": 2, "edit": 4, "remove": 8}
METHODS = {1: "handleCreate", 2: "handleList", 4: "handleEdit", 8: "handleRemove"}


class SupportedArgs:
    def __init__(self):
        self.required, self.optional = [], []

    def addReqArg(self, name):
        self.required.append(name)

    def addOptArg(self, name):
        self.optional.append(name)


class _Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _check_args(handler, args, action):
    supported = handler.supportedArgs
    declared = set(supported.required) | set(supported.optional)
    for name in args:
        if name not in declared:
            raise _Refused(400, 'Argument "%s" is not supported by this handler.' % name)
    if action == ACTIONS["create"]:
        for name in supported.required:
            if not any(args.get(name) or []):
                raise _Refused(400, 'Missing argument: %s' % name)


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, list, dict)) or value is None else str(value)


def init(handler_class, ctxInfo=None):
    request = json.load(sys.stdin)
    action = ACTIONS[request["action"]]
    args = request.get("args") or {}
    flat = {k: (v[0] if v else "") for k, v in args.items()}
    # splunkd's admin.py makes the caller's session the ambient one (what splunk.getSessionKey
    # answers inside a handler); solnlib also looks for it here
    __main__.___sessionKey = request["session_key"]
    handler = handler_class(None, ctxInfo, eai_request(action, request.get("id"), flat, request["session_key"],
                                                       user=request["user"], app=request["app"]))
    handler.supportedArgs = SupportedArgs()
    try:
        handler.setup()
        _check_args(handler, args, action)
        answer = ConfigInfo()
        getattr(handler, METHODS[action])(answer)
    except _Refused as exc:
        reply = {"status": exc.status, "message": str(exc)}
    except Exception as exc:  # what splunkd's admin.py answers for any other exception
        reply = {"status": 500, "message": 'Unexpected error "%s" from python handler: "%s". '
                                           'See splunkd.log/python.log for more details.' % (type(exc), exc)}
    else:
        reply = {"status": 201 if action == ACTIONS["create"] else 200, "entries": [
            {"name": name, "content": {k: _plain(v) for k, v in item.items()},
             "acl": item.metadata.get("eai:acl") or {}}
            for name, item in answer.items()]}
    sys.stdout.write(json.dumps(reply))
