"""REST handler of the Accounts tab: an account is saved only if its token works.

On create and edit the token is checked with GET /api/v2/auth/introspect
through the configured proxy; the admin sees why it failed.
"""

import import_declare_test  # noqa: F401

from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
from splunktaucclib.rest_handler.error import RestError

import onepassword_splunk as splunk_edge
from onepassword_events import runner
from onepassword_events.errors import EventsApiError
from onepassword_events.proxy import proxy_url

# What splunktaucclib sends back in place of an unchanged encrypted field.
MASKED = "********"
# Fewer retries than the input: the admin is waiting for the Save button.
VALIDATION_RETRY_BUDGET = 20.0


class AccountValidationHandler(AdminExternalHandler):
    def handleCreate(self, confInfo):
        self._validate()
        AdminExternalHandler.handleCreate(self, confInfo)

    def handleEdit(self, confInfo):
        self._validate()
        AdminExternalHandler.handleEdit(self, confInfo)

    def _validate(self):
        session_key = self.getSessionKey()
        account = {key: _first(self.payload.get(key)) for key in ("region", "custom_url", "token", "verify_tls", "ca_bundle")}
        if account["token"] in (None, "", MASKED):
            stored = splunk_edge.read_account(session_key, str(self.callerArgs.id)) or {}
            account["token"] = stored.get("token")
        validate_account(account, session_key)


def _first(value):
    # splunkd hands payload values as lists on some code paths
    if isinstance(value, list):
        return value[0] if value else None
    return value


def validate_account(account, session_key):
    from onepassword_events.client import RetryPolicy

    try:
        proxy = proxy_url(splunk_edge.read_proxy(session_key, None))
        runner.check_account(account, proxy_url=proxy, retry=RetryPolicy(budget=VALIDATION_RETRY_BUDGET, max_attempts=3))
    except EventsApiError as exc:
        raise RestError(400, f"Account not saved: {exc.message}") from None
