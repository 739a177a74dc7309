"""REST handler of the Accounts tab: an account is saved only if its token works.

Saving an account makes this Splunk server connect to a URL the caller chose,
so creating, editing or deleting one needs an admin-level capability
(admin_all_objects, which Splunk's admin and Splunk Cloud's sc_admin roles
hold): declared to splunkd in setup(), and checked again here before any
connection is made. On create and edit the token is checked with
GET /api/v2/auth/introspect through the configured proxy, and the event types
it grants are saved with the account (field granted_event_types, shown in the
Accounts table); the caller sees what failed (category, HTTP status, our
advice), never what the answering server said.
"""

import import_declare_test  # noqa: F401

from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
from splunktaucclib.rest_handler.error import RestError

from onepassword_events import runner
from onepassword_events.errors import EventsApiError
from onepassword_events.streams import STREAM_NAMES
from onepassword_splunk import SplunkEdge

# What splunktaucclib sends back in place of an unchanged encrypted field.
MASKED = "********"
# Fewer retries than the input: the admin is waiting for the Save button.
VALIDATION_RETRY_BUDGET = 20.0
ACCOUNT_CAPABILITY = "admin_all_objects"


class AccountValidationHandler(AdminExternalHandler):
    def setup(self):
        self.setWriteCapability(ACCOUNT_CAPABILITY)
        AdminExternalHandler.setup(self)

    def handleCreate(self, confInfo):
        with SplunkEdge(self.getSessionKey()) as edge:
            self._authorize(edge)
            self._validate(edge)
        AdminExternalHandler.handleCreate(self, confInfo)

    def handleEdit(self, confInfo):
        with SplunkEdge(self.getSessionKey()) as edge:
            self._authorize(edge)
            self._validate(edge)
        AdminExternalHandler.handleEdit(self, confInfo)

    def handleRemove(self, confInfo):
        with SplunkEdge(self.getSessionKey()) as edge:
            self._authorize(edge)
        AdminExternalHandler.handleRemove(self, confInfo)

    def _authorize(self, edge):
        try:
            _, capabilities = edge.caller_identity()
        except Exception:  # noqa: BLE001 - fail closed: no identity, no change
            raise RestError(500, "Account not saved: could not check your Splunk capabilities; try again, or "
                                 "look for errors in splunkd.log") from None
        if ACCOUNT_CAPABILITY not in capabilities:
            raise RestError(403, "Account not saved: adding, editing or deleting an account makes this Splunk "
                                 f"server connect to the URL it names, which needs the '{ACCOUNT_CAPABILITY}' "
                                 "capability (Splunk's admin role, or sc_admin on Splunk Cloud)")

    def _validate(self, edge):
        account = {key: _first(self.payload.get(key)) for key in ("region", "custom_url", "token", "verify_tls", "ca_bundle")}
        if account["token"] in (None, "", MASKED):
            stored = edge.read_account(str(self.callerArgs.id)) or {}
            account["token"] = stored.get("token")
        info = validate_account(account, edge)
        # shown in the Accounts table: what the token was found to grant when it was checked
        self.payload["granted_event_types"] = ",".join(name for name in STREAM_NAMES if name in info["features"])


def _first(value):
    # splunkd hands payload values as lists on some code paths
    if isinstance(value, list):
        return value[0] if value else None
    return value


def validate_account(account, edge):
    from onepassword_events.client import RetryPolicy

    try:
        proxy = edge.proxy_url(None)
        return runner.check_account(account, proxy_url=proxy,
                                    retry=RetryPolicy(budget=VALIDATION_RETRY_BUDGET, max_attempts=3))
    except EventsApiError as exc:
        # the message only: what the server said (exc.detail) stays out of the answer
        raise RestError(400, f"Account not saved: [{exc.category}] {exc.message}") from None
