"""The e2e job summary names the tests that skipped for want of the CIM app."""

from e2e import summary
from e2e.conftest import CIM_MISSING


class Report:
    def __init__(self, nodeid, reason):
        self.nodeid = nodeid
        self.longrepr = ("tests/e2e/x.py", 1, "Skipped: " + reason)


def test_cim_skips_are_listed_and_other_skips_are_not(tmp_path):
    reports = [Report("tests/e2e/test_e2e_4_cim.py::test_a[x]", CIM_MISSING),
               Report("tests/e2e/test_e2e_4_cim.py::test_a[x]", CIM_MISSING),
               Report("tests/e2e/test_e2e_6_dashboards.py::test_b", "not this one")]
    found = summary.skipped_for(reports, CIM_MISSING)
    assert found == ["tests/e2e/test_e2e_4_cim.py::test_a[x]"]
    text = summary.markdown(found, passed=80, failed=0, skipped=2)
    assert "80 passed, 0 failed, 2 skipped" in text
    assert "1 test(s) skipped because the CIM app is not installed" in text
    assert "- `tests/e2e/test_e2e_4_cim.py::test_a[x]`" in text
    path = tmp_path / "sub" / "summary.md"
    assert summary.append(str(path), text) and summary.append(str(path), "more\n")
    assert path.read_text() == text + "more\n"
    assert not summary.append("", text)


def test_a_run_with_the_cim_app_says_so():
    assert "No test skipped for want of the CIM app." in summary.markdown([], 90, 1, 0)
