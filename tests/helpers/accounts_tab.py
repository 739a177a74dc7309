"""The Accounts tab's REST handler as splunkd calls it for one user, against a FakeSplunkd.

Everything before the save runs for real: the handler asks the fake splunkd (through solnlib)
who the caller is, reads the Proxy tab and the stored account, and checks the token. The save
itself (splunktaucclib's AdminExternalHandler.handleCreate/Edit/Remove, which needs the
generated endpoint model) is recorded in `saved` instead.
"""

from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
from splunktaucclib.rest_handler.error import RestError

import onepassword_account_validation as account_rh


class AccountsTab:
    def __init__(self, splunkd, monkeypatch, capabilities=("admin_all_objects",), account="acme"):
        self.saved = []  # (action, payload) of every save that went ahead
        for action in ("create", "edit", "remove"):
            monkeypatch.setattr(AdminExternalHandler, "handle" + action.capitalize(),
                                lambda handler, conf, action=action: self.saved.append((action, handler.payload)))
        self.session_key = splunkd.add_user("alice", capabilities=capabilities)
        self.account = account

    def handler(self, payload=None):
        """The handler splunkd builds for one request of the caller."""
        handler = account_rh.AccountValidationHandler.__new__(account_rh.AccountValidationHandler)
        handler.callerArgs = type("Args", (), {"id": self.account})()
        handler.getSessionKey = lambda: self.session_key
        handler.payload = payload
        return handler

    def call(self, action, payload=None):
        """handleCreate / handleEdit / handleRemove with this payload: the RestError it raised, or None."""
        try:
            getattr(self.handler(payload), "handle" + action.capitalize())(None)
        except RestError as exc:
            return exc
        return None
