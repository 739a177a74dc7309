"""Run a script the way splunkd's Python runs a modular input.

    python3 -I -S tests/splunkd_fake/splunkd_python.py <script> [args...]

-I -S keep the interpreter's own site-packages, user site and PYTHON* variables
out; this launcher then sets sys.path to what splunkd's interpreter has: the
script's directory first, the standard library, and
$SPLUNK_HOME/lib/python3/site-packages (where the fake `splunk` package is).
Everything else the script imports must come from the add-on (its lib/).
"""

import os
import runpy
import sys


def main():
    script = os.path.abspath(sys.argv[1])
    site = os.path.join(os.environ["SPLUNK_HOME"], "lib", "python3", "site-packages")
    sys.argv = [script] + sys.argv[2:]
    sys.path[:] = [os.path.dirname(script)] + [p for p in sys.path if p and p != os.path.dirname(__file__)] + [site]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
