"""The Splunk edge: read the add-on's configuration and checkpoints from splunkd.

Thin on purpose: everything here is a call into solnlib, so the collector core
stays testable without Splunk and these few functions are swapped in tests.
"""

from onepassword_events import ADDON_NAME

REST_ROOT = "ta_1password_events"
ACCOUNT_CONF = f"{REST_ROOT}_account"
SETTINGS_CONF = f"{REST_ROOT}_settings"
CHECKPOINT_COLLECTION = f"{REST_ROOT}_checkpoints"


def logger_for_input(input_name):
    from solnlib import log

    return log.Logs().get_logger(f"{REST_ROOT}_{input_name}")


def read_account(session_key, account_name):
    """The account stanza with its token decrypted, or None if it does not exist."""
    from solnlib import conf_manager

    manager = conf_manager.ConfManager(
        session_key, ADDON_NAME, realm=f"__REST_CREDENTIAL__#{ADDON_NAME}#configs/conf-{ACCOUNT_CONF}"
    )
    try:
        return manager.get_conf(ACCOUNT_CONF).get(account_name)
    except (conf_manager.ConfStanzaNotExistException, conf_manager.ConfManagerException):
        # no such stanza, or no account saved yet at all (splunkd has no such conf file)
        return None


def read_proxy(session_key, logger):
    """The Proxy tab's stanza ({} when it was never saved)."""
    from solnlib import conf_manager

    try:
        return conf_manager.get_proxy_dict(logger, session_key, ADDON_NAME, SETTINGS_CONF)
    except conf_manager.ConfStanzaNotExistException:
        # (ConfManagerException is not caught: get_proxy_dict raises it for any
        # failure to read splunkd, and running without the proxy would hide it)
        return {}


def read_log_level(session_key, logger):
    from solnlib import conf_manager

    return conf_manager.get_log_level(logger=logger, session_key=session_key, app_name=ADDON_NAME, conf_name=SETTINGS_CONF)


def checkpoint_store(session_key):
    from onepassword_events.checkpoint import KVStoreCheckpointStore

    return KVStoreCheckpointStore(CHECKPOINT_COLLECTION, session_key, ADDON_NAME)


def caller_identity(session_key, splunkd_uri=None):
    """(user name, set of capabilities) of the session's user, as splunkd sees them.

    splunkd_uri: where splunkd listens, when the caller knows it (a persistent REST
    handler is told in its request; it has no ambient session to look it up with).
    """
    import json
    import urllib.parse

    from solnlib.splunk_rest_client import SplunkRestClient

    if splunkd_uri is None:
        from splunktaucclib.rest_handler.admin_external import get_splunkd_endpoint

        splunkd_uri = get_splunkd_endpoint()
    uri = urllib.parse.urlparse(splunkd_uri)
    client = SplunkRestClient(session_key, ADDON_NAME, scheme=uri.scheme, host=uri.hostname, port=uri.port)
    body = client.get("/services/authentication/current-context", output_mode="json").body.read()
    content = json.loads(body)["entry"][0]["content"]
    return content["username"], set(content.get("capabilities") or [])
