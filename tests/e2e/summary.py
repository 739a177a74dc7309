"""The job summary of an e2e run (E2E_SUMMARY_FILE, GitHub's $GITHUB_STEP_SUMMARY in CI):
which tests skipped for want of the CIM app, so a run without it is never a silent green."""

import os


def skipped_for(reports, marker):
    """Node ids of the skipped test reports whose reason contains `marker`."""
    found = []
    for report in reports:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if marker in reason:
            found.append(report.nodeid)
    return sorted(set(found))


def markdown(cim_skipped, passed, failed, skipped):
    lines = ["### pytest tests/e2e: %d passed, %d failed, %d skipped" % (passed, failed, skipped)]
    if cim_skipped:
        lines.append("%d test(s) skipped because the CIM app is not installed:" % len(cim_skipped))
        lines += ["- `%s`" % nodeid for nodeid in cim_skipped]
    else:
        lines.append("No test skipped for want of the CIM app.")
    return "\n".join(lines) + "\n"


def append(path, text):
    if not path:
        return False
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
    return True
