"""Fake of splunkd's `splunk.admin`: the base class and constants splunktaucclib uses.

A handler can be built as splunkd's admin.init builds it, from the XML splunkd sends
(see eai_request), or with __new__ and attributes set by the test.
"""

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


initialized = []  # (handler class, context) of every admin.init call


def init(handler, ctxInfo=None):
    # splunkd's admin.init then serves requests on stdin; here the test builds the handler
    initialized.append((handler, ctxInfo))
