"""Fixtures of the dockerized-Splunk suite (docker-compose.yml, ./run_e2e.sh).

Without a Docker engine, or with the stack not up, every test here is skipped by
pytest_runtest_setup below, with one line (pytest -ra folds them into one):

    dockerized Splunk suite skipped: no Docker engine reachable (docker info: ...); run ./run_e2e.sh where Docker runs

Session fixtures build the state the tests read, once: the account and input created
through the add-on's own REST endpoints, the simulator's items ingested across a Splunk
restart, the CIM samples indexed, the detection scenarios replayed, the dashboards' data.
What they decide is in the helper modules next to this file (unit-tested offline in
tests/e2e_helpers).
"""

import json
import os
import secrets
import time
from dataclasses import dataclass

import pytest

from . import checks, scenario_runner, spl, summary
from .settings import (ADDON, SIMULATOR_CA_BUNDLE, SIMULATOR_ITEMS_FILE, SIMULATOR_TOKEN_FILE, SIMULATOR_URL,
                       Settings)
from .splunk_client import SplunkClient, error_text, wait_for, wait_stable
from .stack import Stack, skip_line

PAGE_SIZE = 100          # the input's page size: a restart may replay at most this many events per stream
INPUT_INTERVAL = "30"
CIM_MODELS = ("Authentication", "Change", "Data_Access")
CIM_MISSING = ("the Splunk Common Information Model app (Splunk_SA_CIM) is not installed in the stack: "
               "run ./run_e2e.sh with CIM_APP_PACKAGE=<its .tgz> or SPLUNKBASE_USERNAME/SPLUNKBASE_PASSWORD")
ACCOUNT_ENDPOINT = "ta_1password_events_account"
INPUT_ENDPOINT = "ta_1password_events_onepassword"
REVIEW_ENDPOINT = "ta_1password_events_review"


# -- can it run at all? -------------------------------------------------------------------------
_AVAILABILITY = {}


def _unavailable_reason():
    """Why the stack cannot be used (None: it can), asked once per session."""
    if "reason" not in _AVAILABILITY:
        settings = Settings.from_env()
        _AVAILABILITY["reason"] = Stack(settings.compose_file).unavailable_reason(settings.splunk_service)
    return _AVAILABILITY["reason"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Every test of this folder needs the stack. The skip is raised here, before any
    fixture, so all of them share this one location and `pytest -ra` prints one line."""
    reason = _unavailable_reason()
    if reason:
        pytest.skip(skip_line(reason))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Name, in the job summary, every test that skipped for want of the CIM app (nothing is
    written where the stack did not run: then every test skipped for that one reason)."""
    if _unavailable_reason():
        return
    stats = terminalreporter.stats
    skipped = stats.get("skipped", [])
    cim_skipped = summary.skipped_for(skipped, CIM_MISSING)
    text = summary.markdown(cim_skipped, len(stats.get("passed", [])), len(stats.get("failed", [])) +
                            len(stats.get("error", [])), len(skipped))
    if cim_skipped:
        terminalreporter.write_line("%d test(s) skipped for want of the CIM app (see the job summary)" % len(cim_skipped))
    summary.append(os.environ.get("E2E_SUMMARY_FILE"), text)


@pytest.fixture(scope="session")
def e2e_settings():
    return Settings.from_env()


@pytest.fixture(scope="session")
def stack(e2e_settings):
    reason = _unavailable_reason()
    if reason:  # pragma: no cover - pytest_runtest_setup skipped already
        pytest.skip(skip_line(reason))
    return Stack(e2e_settings.compose_file)


@pytest.fixture(scope="session")
def splunk(stack, e2e_settings):
    client = SplunkClient(e2e_settings.mgmt_url, e2e_settings.username, e2e_settings.password, app=ADDON)
    client.wait_until_ready(timeout=900)
    return client


# -- names of what this run creates ------------------------------------------------------------------
@dataclass(frozen=True)
class Names:
    run: str
    prefix: str

    @property
    def account(self):
        return "e2e_%s" % self.run

    @property
    def input(self):
        return "e2e_%s_input" % self.run

    @property
    def ingest_index(self):
        return self.prefix + "ingest"

    @property
    def cim_index(self):
        return self.prefix + "cim"

    @property
    def dash_index(self):
        return self.prefix + "dash"

    @property
    def alert_index(self):
        return self.prefix + "alert"

    @property
    def source(self):
        return "1password:" + self.account


@pytest.fixture(scope="session")
def names(e2e_settings):
    return Names(e2e_settings.run, e2e_settings.index_prefix)


# -- the simulator, as the stack started it ----------------------------------------------------------
@dataclass
class SimulatorData:
    token: str
    streams: dict      # stream -> [exact item text]
    anchor: int


@pytest.fixture(scope="session")
def sim(stack, e2e_settings):
    service = e2e_settings.simulator_service
    document = wait_for(lambda: json.loads(stack.read_file(service, SIMULATOR_ITEMS_FILE)), 300, 5,
                        "the simulator's item dump")
    token = stack.read_file(service, SIMULATOR_TOKEN_FILE).strip()
    return SimulatorData(token=token, streams=document["streams"], anchor=document["anchor"])


# -- the account and the input, through the add-on's REST endpoints ------------------------------------
def account_form(token, ca_bundle=SIMULATOR_CA_BUNDLE):
    """What the Accounts tab posts for an account on the simulator (region Custom URL)."""
    return {"region": "custom", "custom_url": SIMULATOR_URL, "token": token, "verify_tls": "1",
            "ca_bundle": ca_bundle}


@pytest.fixture(scope="module")
def users(splunk, e2e_settings, names):
    """Splunk users made for one test module (a client logged in as each), deleted at its end."""
    made = {}

    def make(suffix, role):
        name = "e2e_%s_%s" % (names.run, suffix)
        password = "E2e-" + secrets.token_urlsafe(16)
        splunk.request("POST", "/services/authentication/users",
                       data={"name": name, "password": password, "roles": role})
        made[name] = SplunkClient(e2e_settings.mgmt_url, name, password, app=ADDON)
        return made[name]

    yield make
    for name in made:
        splunk.request("DELETE", "/services/authentication/users/" + name, expect=None)


@pytest.fixture(scope="session")
def account(splunk, sim, names):
    response = splunk.create_addon_entity(ACCOUNT_ENDPOINT, names.account, account_form(sim.token))
    return response


@dataclass
class Ingest:
    report: checks.IngestReport
    total: int
    indexed_at_restart: int
    restart_epoch: float
    events_after_restart: int
    events: list


def _indexed(splunk, index):
    return splunk.count(spl.indexed_count(index))


@pytest.fixture(scope="session")
def ingested(splunk, account, sim, names):
    """The input collects the simulator's backlog; splunkd is restarted after the first page
    is searchable; then everything is waited for and read back."""
    assert account.status_code in (200, 201), "the account was not saved: %s" % error_text(account)
    splunk.create_index(names.ingest_index)
    response = splunk.create_addon_entity(INPUT_ENDPOINT, names.input, {
        "account": names.account, "event_types": "signinattempts,itemusages,auditevents",
        "index": names.ingest_index, "interval": INPUT_INTERVAL, "start_time": "", "page_size": str(PAGE_SIZE)})
    assert response.status_code in (200, 201), "the input was not created: %s" % error_text(response)
    total = sum(len(texts) for texts in sim.streams.values())

    def first_page():
        count = _indexed(splunk, names.ingest_index)
        return count if count >= PAGE_SIZE else None

    at_restart = wait_for(first_page, 600, 1, "the first page to be searchable")
    restart_epoch = time.time()
    splunk.restart(timeout=900)

    def settled():
        # every stream drained after the restart (a run ended caught up with nothing new) ...
        drained = splunk.count(spl.caught_up_streams(names.input), earliest=str(int(restart_epoch)))
        # ... and the event count no longer moves (indexing has caught up)
        return drained == len(checks.SOURCETYPES), _indexed(splunk, names.ingest_index)

    wait_stable(settled, timeout=1800, interval=10, what="every stream caught up after the restart, a stable count")
    after = splunk.search(spl.events_written(names.input), earliest=str(int(restart_epoch))).rows
    events = splunk.search(spl.ingested_events(names.ingest_index)).rows
    report = checks.IngestReport(sim.streams, events, source=names.source)
    return Ingest(report=report, total=total, indexed_at_restart=at_restart, restart_epoch=restart_epoch,
                  events_after_restart=int(float(after[0].get("n") or 0)) if after else 0, events=events)


# -- the CIM app and its index allow-lists ----------------------------------------------------------------
@pytest.fixture(scope="session")
def cim(splunk, names):
    """True when Splunk_SA_CIM is installed; its cim_<Model>_indexes macros then include this
    run's indexes for the session (docs/detections.md, step 1), restored afterwards."""
    if not splunk.exists("/services/apps/local/Splunk_SA_CIM"):
        yield False
        return
    fixtures = scenario_runner.Fixtures(splunk, app="Splunk_SA_CIM")
    for model in CIM_MODELS:
        fixtures.set_macro("cim_%s_indexes" % model, "(index=%s*)" % names.prefix)
    yield True
    fixtures.restore()


@pytest.fixture
def require_cim(cim):
    if not cim:
        pytest.skip(CIM_MISSING)


# -- replays -----------------------------------------------------------------------------------------------
def replay_into_splunk(splunk, stack, e2e_settings, plans, timeout=900):
    scenario_runner.replay_into_splunk(splunk, stack, e2e_settings.hec_url, e2e_settings.hec_token,
                                       e2e_settings.splunk_service, plans, timeout=timeout)


class Scenarios(dict):
    """(rule id, variant) -> VariantPlan, and when the last replayed event was indexed."""
    indexed_by = 0.0


@pytest.fixture(scope="session")
def scenarios(splunk, stack, e2e_settings, names, saved_searches):
    """Every scenario variant replayed into its own index, materialized for the clock at
    which the replay starts (every event happened before it is indexed); an hour-straddling
    variant's events after the hour are held back for its test to deliver. The stack's
    scheduled baselines are paused meanwhile: the suite folds them itself, variant by
    variant, and restores their lookups."""
    start = time.time()
    plans = scenario_runner.plan_variants(names.prefix, start, run_id=e2e_settings.run)
    for plan in plans:
        if plan.variant == "straddle_hour":   # its part after HH:00 arrives after the rule's first run
            plan.hold_back_after_the_hour()
    baselines = [name for name in saved_searches if name.endswith(" - Baseline")]
    paused = []
    try:
        for name in baselines:
            if splunk.saved_search(name).get("disabled") in (False, "0", 0):
                splunk.disable_saved_search(name)
                paused.append(name)
        result = Scenarios({(plan.rule_id, plan.variant): plan for plan in plans})
        result.indexed_by = scenario_runner.replay_into_splunk(
            splunk, stack, e2e_settings.hec_url, e2e_settings.hec_token, e2e_settings.splunk_service, plans)
        yield result
    finally:
        for name in paused:
            splunk.enable_saved_search(name)


@pytest.fixture(scope="session")
def saved_searches():
    return scenario_runner.read_savedsearches()
