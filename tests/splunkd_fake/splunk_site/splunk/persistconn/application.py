"""Fake of splunkd's `splunk.persistconn.application`: the base class of persistent REST handlers.

The same interface as the real module: splunkd's appserver loads the handler's file,
picks the one class whose MRO has a class named PersistentServerConnectionApplication,
builds it with (command_line, command_arg) and calls handle() with the request JSON;
a dict answer is sent back JSON-encoded.
"""


class PersistentServerConnectionApplication(object):
    def __init__(self):
        pass

    def handle(self, in_bytes):
        raise NotImplementedError("PersistentServerConnectionApplication.handle")

    def handleStream(self, handle, in_bytes):
        raise NotImplementedError("PersistentServerConnectionApplication.handleStream")

    def done(self):
        pass
