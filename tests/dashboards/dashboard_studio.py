"""Run Splunk's own Dashboard Studio code (npm @splunk/dashboard-*) on the add-on's dashboards.

    validate(definitions)        Splunk's validator + our reference checks, in Node (studio/validate.js)
    render(jobs)                 every dashboard drawn in headless Chromium (studio/render.js)

Regenerate the screenshots in docs/ (one command, from the repository root):

    python3 tests/dashboards/dashboard_studio.py --screenshots docs

The npm packages come from studio/package-lock.json (tools/ensure_node_modules.sh runs `npm ci`
when studio/node_modules is missing or the lock changed); the page is bundled with esbuild into
studio/build/ when its sources are newer than the bundle. Neither folder is committed.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STUDIO = os.path.join(HERE, "studio")
ROOT = os.path.dirname(os.path.dirname(HERE))
ENSURE = os.path.join(ROOT, "tools", "ensure_node_modules.sh")
BUNDLE = os.path.join(STUDIO, "build", "app.js")
CHROMIUM = os.environ.get("DASHBOARD_CHROMIUM", "/usr/bin/chromium")
INSTALL_TIMEOUT_S = 900
VALIDATE_TIMEOUT_S = 180
RENDER_TIMEOUT_PER_DASHBOARD_S = 60

if HERE not in sys.path:
    sys.path.insert(0, HERE)
import dashboard_queries as dq  # noqa: E402
import stub_rows  # noqa: E402


class StudioError(RuntimeError):
    pass


def node_missing():
    """Why the Node tooling cannot run here, or None."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found (Node.js 20 with npm is needed: apt-get install nodejs npm)"
    return None


def chromium_missing():
    """Why no browser can draw the dashboards here, or None."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set DASHBOARD_CHROMIUM)"
    return None


def _run(command, timeout, what):
    """Run a command in its own process group, stopped when it overruns its time.

    Playwright starts Chromium in a process group of its own and closes it when node gets
    SIGTERM (or exits), so node is asked first and killed only if it does not stop."""
    process = subprocess.Popen(command, cwd=STUDIO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        raise StudioError(f"{what} did not finish in {timeout} s; stopped. Output:\n{output[-4000:]}")
    if process.returncode != 0:
        raise StudioError(f"{what} failed (exit {process.returncode}):\n{output[-4000:]}")
    return output


def ensure_packages():
    _run(["bash", ENSURE], INSTALL_TIMEOUT_S, "npm ci of tests/dashboards/studio")


def ensure_bundle():
    sources = [os.path.join(STUDIO, name) for name in ("app.jsx", "build.js", "package-lock.json")]
    sources.append(os.path.join(STUDIO, "node_modules", ".package-lock.installed"))
    newest = max(os.path.getmtime(path) for path in sources if os.path.exists(path))
    if not os.path.exists(BUNDLE) or os.path.getmtime(BUNDLE) < newest:
        _run(["node", "build.js"], 300, "esbuild bundle of the test page")


def _node_json(script, payload, timeout, what):
    with tempfile.TemporaryDirectory(prefix="studio-") as folder:
        source, target = os.path.join(folder, "in.json"), os.path.join(folder, "out.json")
        with open(source, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        output = _run(["node", script, source, target], timeout, what)
        if not os.path.exists(target):
            raise StudioError(f"{what} wrote no results:\n{output[-4000:]}")
        with open(target, encoding="utf-8") as handle:
            return json.load(handle)


def validate(definitions):
    """{name: {"splunk": [validator errors], "references": [messages]}, "_versions": {...}}."""
    return _node_json("validate.js", definitions, VALIDATE_TIMEOUT_S, "validate.js")


def color_scheme(name):
    """The dashboard's theme (the theme attribute of its <dashboard> element)."""
    path = os.path.join(dq.VIEWS, name + ".xml")
    root = dq.load(path)[0] if os.path.exists(path) else None
    return (root.get("theme") if root is not None else None) or "light"


def render(jobs):
    """jobs: [{"name", "definition", "colorScheme", "screenshot"}] -> {name: result} (see studio/render.js)."""
    budget = 60 + RENDER_TIMEOUT_PER_DASHBOARD_S * len(jobs)
    payload = {"dashboards": jobs, "timeoutMs": RENDER_TIMEOUT_PER_DASHBOARD_S * 1000, "chromium": CHROMIUM,
               "budgetMs": (budget - 20) * 1000}
    return _node_json("render.js", payload, budget, "render.js (headless Chromium)")


def render_jobs(definitions, screenshot_dir=None):
    return [{"name": name, "definition": stub_rows.render_definition(definition, name),
             "colorScheme": color_scheme(name),
             "screenshot": os.path.join(screenshot_dir, f"{name}.png") if screenshot_dir else None}
            for name, definition in sorted(definitions.items())]


def problems(name, definition, result):
    """What a person would see wrong in one rendered dashboard (empty when all is well)."""
    found = []
    rendered = stub_rows.render_definition(definition, name)
    expected = sorted(block["item"] for block in definition["layout"]["structure"] if block.get("type") != "input")
    if sorted(result["renderedViz"]) != expected:
        missing = sorted(set(expected) - set(result["renderedViz"]))
        found.append(f"{len(result['renderedViz'])} of {len(expected)} visualizations drawn; missing {missing}")
    if not result.get("validatorAnswered"):
        found.append("DashboardCore's validator gave no answer")
    if result.get("fatal"):
        found.append(f"page failed: {result['fatal'][:500]}")
    for error in result["validationErrors"]:
        found.append(f"validation error in the browser: {error}")
    for error in result["consoleErrors"]:
        found.append(f"console error: {error[:500]}")
    for viz_id, columns in stub_rows.table_columns(rendered).items():
        headers = result["tables"].get(viz_id)
        if headers != columns:
            found.append(f"table {viz_id}: headers {headers} for data columns {columns}")
    for viz_id, headers in sorted((result.get("brokenHeaders") or {}).items()):
        found.append(f"table {viz_id}: a word of header(s) {headers} is broken over two lines")
    for viz_id, rows in sorted((result.get("cutRows") or {}).items()):
        found.append(f"table {viz_id}: {rows} row(s) cut off at the bottom of the panel")
    return found


def _fields_without_values(definitions):
    """Fields whose stub values fell back to the field's own name (no realistic value known)."""
    lacking = set()
    for name, definition in definitions.items():
        for ds_id, data in stub_rows.stub_data(definition, name).items():
            for field, column in zip(data["fields"], data["columns"]):
                if any(value == field["name"].replace("_", " ") for value in column if isinstance(value, str)):
                    lacking.add(f"{name}:{ds_id}:{field['name']}")
    return sorted(lacking)


def main(argv):
    if len(argv) != 2 or argv[0] != "--screenshots":
        print(__doc__)
        return 2
    out = os.path.abspath(argv[1])
    for reason in (node_missing(), chromium_missing()):
        if reason:
            print(f"cannot make screenshots: {reason}", file=sys.stderr)
            return 1
    ensure_packages()
    ensure_bundle()
    definitions = dq.load_all()
    results = render(render_jobs(definitions, out))
    failed = False
    for name in sorted(definitions):
        found = problems(name, definitions[name], results[name])
        failed |= bool(found)
        status = "ok" if not found else "PROBLEMS: " + "; ".join(found)
        print(f"{name}: {len(results[name]['renderedViz'])} visualizations, {results[name]['ms'] / 1000:.1f} s, "
              f"{os.path.relpath(os.path.join(out, name + '.png'), ROOT)} {status}")
    # The pictures must look like a real account: a field shown with its own name as its value
    # needs values in stub_rows.TEXT / NUMBERS (the tests do not mind: they check structure).
    lacking = _fields_without_values(definitions)
    if lacking:
        print("fields with no realistic stub values (add them to TEXT/NUMBERS in tests/dashboards/stub_rows.py): "
              + ", ".join(lacking))
    return 1 if failed or lacking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
