"""The built setup pages in headless Chromium, against the fake splunkd (the add-on's real REST
handlers run in it), the Events API simulator and a stand-in for Splunk Web.

    with SetupStack(addon_dir) as stack:            # fake splunkd + simulator + Splunk Web
        result = drive(stack, out_dir)  # browser/drive.js: what a user saw, per step

Regenerate the screenshots in docs/ (from the repository root; the README shows them):

    ./ucc_build.sh --skip-appinspect && .venv/bin/python tests/setup_pages/browser_harness.py --screenshots docs

The npm package (playwright-core, pinned in browser/package-lock.json) is installed by
`npm ci` into browser/node_modules (not committed) when missing or when the lock changed;
Chromium is Debian's /usr/bin/chromium (no browser is downloaded).
"""

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BROWSER = os.path.join(HERE, "browser")
CHROMIUM = os.environ.get("SETUP_PAGES_CHROMIUM", "/usr/bin/chromium")
for path in (os.path.join(ROOT, "tests"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from simulator import EventsApiSimulator, make_token  # noqa: E402
from splunk_web import SplunkWeb  # noqa: E402
from splunkd_fake import FakeSplunkd  # noqa: E402

ADMIN_CAPABILITIES = ("admin_all_objects", "list_storage_passwords", "edit_storage_passwords")
GRANTED = ("signinattempts", "auditevents")  # what the good token grants: two of the three types


def missing_tools():
    """Why the browser tests cannot run here (one line), or None."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return "%s not found (Node.js 20 with npm runs the browser tests)" % tool
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return "no Chromium at %s (apt-get install chromium, or set SETUP_PAGES_CHROMIUM)" % CHROMIUM
    return None


def ensure_packages():
    lock = os.path.join(BROWSER, "package-lock.json")
    stamp = os.path.join(BROWSER, "node_modules", ".package-lock.installed")
    if os.path.exists(stamp) and filecmp.cmp(stamp, lock, shallow=False):
        return
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BROWSER,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError("npm ci in tests/setup_pages/browser failed:\n" + result.stdout + result.stderr)
    shutil.copy(lock, stamp)


class SetupStack:
    """A fake splunkd with the built add-on installed and an admin user, the Events API simulator
    with `good_token` (granting GRANTED), a well-formed token it never issued (`refused_token`),
    and Splunk Web in front of splunkd."""

    def __init__(self, addon_dir):
        self.addon_dir = addon_dir

    def __enter__(self):
        self.splunkd = FakeSplunkd().start()
        try:
            self.splunkd.install_app(self.addon_dir)
            # an index an admin made for the add-on, beside Splunk's own
            self.splunkd.set_stanza("indexes", "onepassword", {"homePath": "$SPLUNK_DB/onepassword/db"}, app="system")
            self.admin_key = self.splunkd.add_user("admin", roles=["admin"], capabilities=ADMIN_CAPABILITIES)
            self.simulator = EventsApiSimulator(seed=7, signinattempts=50).start()
            self.good_token = self.simulator.add_token(GRANTED)
            self.refused_token = make_token("127.0.0.1")
            self.web = SplunkWeb(self.addon_dir, self.splunkd, self.admin_key).start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for part in ("web", "simulator", "splunkd"):
            if getattr(self, part, None) is not None:
                getattr(self, part).stop()


class DriveError(RuntimeError):
    pass


def drive(stack, out_dir, screenshots=False, timeout=600):
    """Run browser/drive.js; its report (what the user saw at each step) as a dict."""
    ensure_packages()
    job = {
        "origin": stack.web.origin,
        "app": stack.web.app,
        "chromium": CHROMIUM,
        "screenshots": out_dir if screenshots else None,
        "simulatorUrl": stack.simulator.url,
        "goodToken": stack.good_token,
        "refusedToken": stack.refused_token,
        "eventTypes": ["Sign-in attempts", "Audit events"],
        "startDate": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 5 * 86400)),
        "report": os.path.join(out_dir, "report.json"),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(job, handle)
    process = subprocess.Popen(["node", "drive.js", handle.name], cwd=BROWSER, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        raise DriveError("drive.js did not finish in %d s:\n%s" % (timeout, output[-4000:]))
    finally:
        os.unlink(handle.name)
    if process.returncode != 0 or not os.path.exists(job["report"]):
        raise DriveError("drive.js failed (exit %s):\n%s" % (process.returncode, output[-6000:]))
    with open(job["report"], encoding="utf-8") as report:
        return json.load(report)


def main(argv):
    if len(argv) != 2 or argv[0] != "--screenshots":
        print(__doc__)
        return 2
    reason = missing_tools()
    if reason:
        print("cannot make screenshots: " + reason, file=sys.stderr)
        return 1
    out = os.path.abspath(argv[1])
    addon = os.path.join(ROOT, "output", "TA-1password-events")
    if not os.path.isdir(addon):
        print("cannot make screenshots: no built add-on in output/ (run ./ucc_build.sh --skip-appinspect)",
              file=sys.stderr)
        return 1
    with SetupStack(addon) as stack, tempfile.TemporaryDirectory(prefix="setup-pages-") as work:
        report = drive(stack, work, screenshots=True)
        for name in report["screenshots"]:
            shutil.copy(os.path.join(work, name), os.path.join(out, name))
            print(os.path.relpath(os.path.join(out, name), ROOT))
        problems = report.get("problems") or []
        for problem in problems:
            print("PROBLEM: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
