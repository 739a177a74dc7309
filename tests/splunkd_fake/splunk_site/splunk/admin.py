"""splunkd's `splunk.admin`: what splunktaucclib's handlers use, and admin.init.

The base class MConfigHandler builds a handler from the XML splunkd sends an EAI
handler (eai_request), as splunkd's admin.py does; a test may also build one with
__new__ and set its attributes.

admin.init(handler class, context) is where a generated handler script
(bin/<handlerfile>) hands its class to splunkd. Every call is recorded in
`initialized`, so an in-process test that ran the script builds the handler itself.
Under the fake splunkd, which runs the script as __main__ once per request with
FAKE_SPLUNKD_EAI_REQUEST set and the request on stdin as JSON ({"action", "id",
"args": {name: [values]}, "session_key", "user", "app"}), init also serves it as
splunkd does: builds the handler from the request, lets setup() declare its
arguments, refuses arguments it did not declare (and, on create, missing required
ones), runs handleCreate/List/Edit/Remove and writes the answer on stdout as JSON:
{"status", "entries": [{"name", "content", "acl"}]} or {"status", "message"}.
"""

import __main__
import json
import os
import sys
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

ACTION_CREATE = 1
ACTION_LIST = 2
ACTION_EDIT = 4
ACTION_REMOVE = 8
ACTION_MEMBERS = 16
ACTION_RELOAD = 32
CONTEXT_NONE = 0
CONTEXT_APP_ONLY = 1
CONTEXT_APP_AND_USER = 2
EAI_ENTRY_ACL = "eai:acl"


class CallerArgs:
    def __init__(self, id=None, data=None):
        self.id = id
        self.data = data or {}


class MConfigHandler:
    def __init__(self, scriptMode=None, ctxInfo=None, request=None):
        self.callerArgs = CallerArgs()
        self.requestedAction = None
        self.supportedArgs = None
        self.userName = ""
        self.appName = ""
        self.context = ctxInfo
        if request is not None:
            self._read_request(request)

    def _read_request(self, request):
        # as splunkd's splunk/admin.py: eai_settings become attributes, callerArgs the
        # arguments (a list of values per name), sessionKey the caller's session
        root = ElementTree.fromstring(request)
        for item in root.find("eai_settings"):
            if item.text is not None:
                setattr(self, item.tag, item.text)
        self.requestedAction = int(self.requestedAction)
        args = root.find("callerArgs")
        self.callerArgs = CallerArgs(args.find("id").text)
        for item in args.find("args"):
            self.callerArgs.data.setdefault(item.attrib["name"], []).append(item.text)
        session = root.find("sessionKey")
        if session is not None:
            self._session_key = session.text

    def getSessionKey(self):
        return getattr(self, "_session_key", "fake-session-key")

    # as in splunkd's splunk/admin.py: declared in setup(), sent back to splunkd
    # in eai_settings, and enforced by splunkd before create/edit/remove
    capabilityRead = ""
    capabilityWrite = ""

    def setReadCapability(self, capability):
        self.capabilityRead = capability

    def setWriteCapability(self, capability):
        self.capabilityWrite = capability


class ConfigItem(dict):
    """One entry of a handler's answer: its fields, and metadata such as eai:acl."""

    def __init__(self):
        super().__init__()
        self.metadata = {}

    def setMetadata(self, key, value):
        self.metadata[key] = value


class ConfigInfo(dict):
    """A handler's answer: entries by name, created on first access (as splunkd's ConfigInfo)."""

    def __missing__(self, name):
        self[name] = ConfigItem()
        return self[name]


def eai_request(action, entity_id, args, session_key, user="nobody", app="TA-1password-events"):
    """The XML splunkd sends an EAI handler for one request (args: {name: value})."""
    items = "".join("<item name=%s>%s</item>" % (quoteattr(k), escape(str(v))) for k, v in args.items())
    return ("<eai><eai_settings><requestedAction>%d</requestedAction><userName>%s</userName><appName>%s</appName>"
            "</eai_settings><callerArgs><id>%s</id><args>%s</args></callerArgs><sessionKey>%s</sessionKey></eai>"
            % (action, escape(user), escape(app), escape(entity_id or ""), items, escape(session_key)))


ACTIONS = {"create": ACTION_CREATE, "list": ACTION_LIST, "edit": ACTION_EDIT, "remove": ACTION_REMOVE}
METHODS = {ACTION_CREATE: "handleCreate", ACTION_LIST: "handleList", ACTION_EDIT: "handleEdit",
           ACTION_REMOVE: "handleRemove"}


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


initialized = []  # (handler class, context) of every admin.init call


def init(handler_class, ctxInfo=None):
    initialized.append((handler_class, ctxInfo))
    if os.environ.get("FAKE_SPLUNKD_EAI_REQUEST"):
        _serve(handler_class, ctxInfo)


def _serve(handler_class, ctxInfo):
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
