"""A fake splunkd for tests and benchmarks: real HTTP on 127.0.0.1, so the
add-on's Splunk edge runs through the real solnlib / splunklib code.

    from splunkd_fake import FakeSplunkd

    with FakeSplunkd() as splunkd:                    # or .start() / .stop()
        splunkd.set_account("acme", token=..., region="custom", custom_url=...)
        splunkd.set_proxy(proxy_enabled="1", proxy_url="proxy.corp", proxy_port="3128",
                          proxy_username="u", proxy_password="secret")
        splunkd.set_log_level("DEBUG")
        with splunkd.activate():                      # in-process: SPLUNK_HOME + splunkenv hooks
            SplunkEdge(splunkd.session_key).read_account("acme")
        # or a modular input as a child of this splunkd:
        splunkd.install_app("output/TA-1password-events")
        subprocess.run(splunkd.python_command(python, script), input=splunkd.input_definition({...}),
                       env=splunkd.env(), ...)
        splunkd.kv_states()                           # checkpoints as solnlib stored them
        splunkd.requests                              # (method, path, query, status, authorized, kind)

See fake.py for the endpoints served and README.md for the details.
"""

from .fake import (  # noqa: F401
    ACCOUNT_CONF,
    ADDON,
    CHECKPOINT_COLLECTION,
    CRED_END_MARK,
    CRED_SEP,
    ENCRYPTED,
    LAUNCHER,
    REST_ROOT,
    SETTINGS_CONF,
    FakeSplunkd,
    Request,
    activate_splunk_home,
    credential_realm,
    parse_conf_text,
)
