"""Fail the build when an AppInspect report has any failure, error or future_failure.

Usage: python tools/appinspect_gate.py report.json
Prints one summary line, then every offending check with its messages.
"""

import json
import sys

BLOCKING = ("failure", "error", "future_failure")


def summarize(report):
    totals = {}
    offending = []
    for app in report.get("reports", []):
        for group in app.get("groups", []):
            for check in group.get("checks", []):
                result = check.get("result")
                totals[result] = totals.get(result, 0) + 1
                if result in BLOCKING:
                    messages = [m.get("message", "") for m in check.get("messages", [])]
                    offending.append((result, check.get("name"), messages))
    return totals, offending


def main(path):
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    totals, offending = summarize(report)
    order = ("error", "failure", "skipped", "manual_check", "not_applicable", "success", "warning", "future_failure")
    print("AppInspect summary: " + ", ".join(f"{k}: {totals.get(k, 0)}" for k in order))
    for result, name, messages in offending:
        print(f"  {result.upper()} {name}")
        for message in messages:
            print(f"    - {message}")
    return 1 if offending else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
