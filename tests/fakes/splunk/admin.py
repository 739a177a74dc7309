"""Fake of splunkd's `splunk.admin`: the base class and constants splunktaucclib uses."""

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
    def __init__(self, *args, **kwargs):
        self.callerArgs = CallerArgs()
        self.requestedAction = None
        self.supportedArgs = None

    def getSessionKey(self):
        return "fake-session-key"

    # as in splunkd's splunk/admin.py: declared in setup(), sent back to splunkd
    # in eai_settings, and enforced by splunkd before create/edit/remove
    capabilityRead = ""
    capabilityWrite = ""

    def setReadCapability(self, capability):
        self.capabilityRead = capability

    def setWriteCapability(self, capability):
        self.capabilityWrite = capability


def init(handler, ctxInfo=None):
    raise RuntimeError("the fake splunk.admin cannot serve REST requests")
