"""Where the e2e stack is and how to reach it: one place, read from the environment.

The defaults equal docker-compose.yml's (tests/e2e_helpers checks that they stay equal),
so `docker compose up` plus `pytest tests/e2e` work without any variable set. They are for
a local, throwaway stack only.
"""

import os
import re
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADDON = "TA-1password-events"
REST_ROOT = "ta_1password_events"

DEFAULTS = {
    "SPLUNK_HOST": "127.0.0.1",
    "SPLUNK_MGMT_PORT": "8089",
    "SPLUNK_WEB_PORT": "8000",
    "SPLUNK_HEC_PORT": "8088",
    "SPLUNK_USERNAME": "admin",
    "SPLUNK_PASSWORD": "E2e-local-only-1",
    "SPLUNK_HEC_TOKEN": "6a1f0b0e-2e2e-4e2e-9e2e-0123456789ab",
    "E2E_COMPOSE_FILE": os.path.join(ROOT, "docker-compose.yml"),
    "E2E_SPLUNK_SERVICE": "splunk",
    "E2E_SIMULATOR_SERVICE": "simulator",
}

# Inside the stack (docker-compose.yml): the simulator on the Splunk container's loopback.
SIMULATOR_URL = "https://127.0.0.1:8443"
SIMULATOR_CA_BUNDLE = "/shared/tls/cert.pem"
SIMULATOR_TOKEN_FILE = "/shared/token"
SIMULATOR_ITEMS_FILE = "/shared/items.json"
SPLUNK_LOG_DIR = "/opt/splunk/var/log/splunk"


def run_id(clock=time.time):
    """A short lowercase id for this run (names of indexes, accounts, inputs): base-36 seconds."""
    number = int(clock())
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


@dataclass(frozen=True)
class Settings:
    host: str
    mgmt_port: int
    web_port: int
    hec_port: int
    username: str
    password: str
    hec_token: str
    compose_file: str
    splunk_service: str
    simulator_service: str
    run: str

    @classmethod
    def from_env(cls, env=None, clock=time.time):
        env = os.environ if env is None else env

        def get(name):
            value = env.get(name)
            return value if value not in (None, "") else DEFAULTS[name]

        run = env.get("E2E_RUN_ID") or run_id(clock)
        if not re.fullmatch(r"[a-z0-9]{1,12}", run):
            raise ValueError("E2E_RUN_ID must be 1-12 lowercase letters or digits (it names indexes): %r" % run)
        return cls(
            host=get("SPLUNK_HOST"), mgmt_port=int(get("SPLUNK_MGMT_PORT")), web_port=int(get("SPLUNK_WEB_PORT")),
            hec_port=int(get("SPLUNK_HEC_PORT")), username=get("SPLUNK_USERNAME"), password=get("SPLUNK_PASSWORD"),
            hec_token=get("SPLUNK_HEC_TOKEN"), compose_file=get("E2E_COMPOSE_FILE"),
            splunk_service=get("E2E_SPLUNK_SERVICE"), simulator_service=get("E2E_SIMULATOR_SERVICE"), run=run,
        )

    @property
    def mgmt_url(self):
        return "https://%s:%d" % (self.host, self.mgmt_port)

    @property
    def hec_url(self):
        return "https://%s:%d" % (self.host, self.hec_port)

    @property
    def index_prefix(self):
        """Every index this run creates starts with it (`index=<prefix>*` finds them all)."""
        return "op_e2e_%s_" % self.run
