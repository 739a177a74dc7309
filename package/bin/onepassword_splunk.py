"""The Splunk edge: what the add-on asks splunkd, through one session.

Thin on purpose: SplunkEdge only asks splunkd (onepassword_splunkd) and opens log
files (onepassword_logfile), so the collector core stays testable without Splunk.
The entry points (the input's stream_events, the REST handlers) build one edge from
the session splunkd hands them and pass it on. LocalEdge answers the same questions
without splunkd (the account and proxy handed in, checkpoint files): the
troubleshooting CLI's settings, and a way to run the input's own code outside Splunk.
"""

from onepassword_events import ADDON_NAME

REST_ROOT = "ta_1password_events"
ACCOUNT_CONF = f"{REST_ROOT}_account"
SETTINGS_CONF = f"{REST_ROOT}_settings"
CHECKPOINT_COLLECTION = f"{REST_ROOT}_checkpoints"


class SplunkEdge:
    """splunkd as the add-on sees it with one session key.

    splunkd_uri: where splunkd listens, when the caller knows it (the input's definition
    names it; a persistent REST handler is told in its request). Otherwise it is looked
    up once per edge. Every question goes over one connection (onepassword_splunkd says
    why not solnlib's clients); close() ends it.
    """

    def __init__(self, session_key, splunkd_uri=None):
        self.session_key = session_key
        self.splunkd_uri = splunkd_uri
        self._splunkd = None
        self._settings = None

    def splunkd(self):
        """The edge's connection to splunkd (onepassword_splunkd.Splunkd), made on first use."""
        if self._splunkd is None:
            from onepassword_splunkd import Splunkd

            if self.splunkd_uri is None:
                from solnlib.splunkenv import get_splunkd_uri

                self.splunkd_uri = get_splunkd_uri(self.session_key)
            self._splunkd = Splunkd(self.splunkd_uri, self.session_key, ADDON_NAME)
        return self._splunkd

    def close(self):
        if self._splunkd is not None:
            self._splunkd.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def splunkd_address(self):
        """{"scheme", "host", "port"} of splunkd, for solnlib's clients."""
        import urllib.parse

        uri = urllib.parse.urlparse(self.splunkd().uri)
        return {"scheme": uri.scheme, "host": uri.hostname, "port": uri.port}

    def logger_for_input(self, input_name):
        from onepassword_logfile import file_logger

        return file_logger(f"{REST_ROOT}_{input_name}")

    def input_logger(self, input_name):
        """The input's log file, at the level set on the Logging tab."""
        logger = self.logger_for_input(input_name)
        logger.setLevel(self.read_log_level(logger))
        return logger

    def _settings_conf(self):
        """The Logging and Proxy tabs' stanzas, listed once per edge ({} before the admin saves a tab)."""
        if self._settings is None:
            self._settings = self.splunkd().conf_stanzas(SETTINGS_CONF) or {}
        return self._settings

    def read_log_level(self, logger):
        """The Logging tab's level; INFO, with an error logged, when it cannot be read (as solnlib's get_log_level)."""
        from onepassword_splunkd import SplunkdError

        try:
            settings = self._settings_conf()
        except SplunkdError as exc:
            logger.error(f"Failed to fetch configuration file {SETTINGS_CONF} ({exc.reason}), taking INFO as log level.")
            return "INFO"
        if "logging" not in settings:
            logger.error(f'"logging" stanza does not exist under {SETTINGS_CONF}, taking INFO as log level.')
            return "INFO"
        return settings["logging"].get("loglevel", "INFO")

    def read_account(self, account_name):
        """The account stanza with its token decrypted, or None if it does not exist."""
        splunkd = self.splunkd()
        fields = splunkd.conf_stanza(ACCOUNT_CONF, account_name)
        return None if fields is None else splunkd.decrypted(ACCOUNT_CONF, account_name, fields)

    def read_proxy(self, logger):
        """The Proxy tab's stanza, its password decrypted ({} when it was never saved).

        A failure to read splunkd is raised, not taken as "no proxy": running without
        the proxy would hide it."""
        proxy = self._settings_conf().get("proxy")
        return {} if proxy is None else self.splunkd().decrypted(SETTINGS_CONF, "proxy", proxy)

    def proxy_url(self, logger):
        """The Proxy tab as one URL, or None; a ConfigurationError when its settings do not make one."""
        from onepassword_events.proxy import proxy_url

        return proxy_url(self.read_proxy(logger))

    def checkpoint_store(self):
        from onepassword_events.checkpoint import KVStoreCheckpointStore

        return KVStoreCheckpointStore(CHECKPOINT_COLLECTION, self.splunkd())

    def events_ingested(self, logger, full_name, sourcetype, count, index, account):
        """The line Splunk's monitoring dashboards count ingested events by."""
        from onepassword_logfile import events_ingested

        events_ingested(logger, full_name, sourcetype, count, index, account)

    def rest_client(self):
        """A splunkd REST client acting as this session's user."""
        from solnlib.splunk_rest_client import SplunkRestClient

        return SplunkRestClient(self.session_key, ADDON_NAME, **self.splunkd_address())

    def caller_identity(self):
        """(user name, set of capabilities) of the session's user, as splunkd sees them."""
        content = self.splunkd().get("/services/authentication/current-context")["entry"][0]["content"]
        return content["username"], set(content.get("capabilities") or [])


class LocalEdge:
    """The same answers without splunkd: one account handed in, the proxy URL given, checkpoint
    files in state_dir (in memory without one), every input logging to one logger."""

    def __init__(self, account_name, account, logger, proxy=None, state_dir=None):
        self.account_name = account_name
        self.account = account
        self.logger = logger
        self.proxy = proxy
        self.state_dir = state_dir
        self.ingested = 0  # events the runs reported written

    def input_logger(self, input_name):
        return self.logger

    def read_account(self, account_name):
        return dict(self.account) if account_name == self.account_name else None

    def proxy_url(self, logger):
        return self.proxy

    def checkpoint_store(self):
        """Taken before anything is written: a second run on the same directory refuses."""
        from onepassword_events.checkpoint import FileCheckpointStore, MemoryCheckpointStore

        return FileCheckpointStore(self.state_dir) if self.state_dir else MemoryCheckpointStore()

    def events_ingested(self, logger, full_name, sourcetype, count, index, account):
        self.ingested += count
