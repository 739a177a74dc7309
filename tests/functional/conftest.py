"""Fixtures of the functional suites: simulators on loopback and the token scan.

Every test gets a SecretScanner (autouse): each CLI or input run registers its
stdout, stderr, logs and XML, and its checkpoint directory; when the test ends,
all of it is searched for every token the test's simulators issued. A hit
fails the test.
"""

import pytest

from functional_helpers import SCAN_TOTALS, SecretScanner
from simulator import EventsApiSimulator


@pytest.fixture(autouse=True)
def scanner(tmp_path):
    scan = SecretScanner()
    scan.add_directory(str(tmp_path))
    scan.simulators = []
    yield scan
    for sim in scan.simulators:
        for token in sim.tokens:
            scan.add_token(token)
    hits = scan.hits()
    assert not hits, "the token appears in outputs:\n" + "\n".join(hits[:10])


@pytest.fixture
def make_sim(scanner):
    """Start simulators for this test; all are stopped at its end."""
    started = []

    def make(**kwargs):
        sim = EventsApiSimulator(**kwargs).start()
        started.append(sim)
        scanner.simulators.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def pytest_terminal_summary(terminalreporter):
    if SCAN_TOTALS["tests"]:
        terminalreporter.write_line(
            "functional token scan: %(tests)d tests, %(outputs)d outputs, %(bytes)d characters, %(hits)d hits"
            % SCAN_TOTALS
        )
