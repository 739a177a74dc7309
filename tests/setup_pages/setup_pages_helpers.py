"""Helpers of the setup-page tests: read globalConfig.json, and judge a value the
way the pages (JavaScript) and splunkd (the generated handlers) do."""

import json
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GLOBAL_CONFIG = os.path.join(ROOT, "globalConfig.json")


def load_config():
    with open(GLOBAL_CONFIG, encoding="utf-8") as handle:
        return json.load(handle)


def config_tab(config, name):
    return next(tab for tab in config["pages"]["configuration"]["tabs"] if tab.get("name") == name)


def entity(entities, field):
    return next(e for e in entities if e["field"] == field)


def account_entity(field):
    return entity(config_tab(load_config(), "account")["entity"], field)


def input_entity(field):
    return entity(load_config()["pages"]["inputs"]["services"][0]["entity"], field)


def regex_validators(field_entity):
    return [v for v in field_entity.get("validators", []) if v["type"] == "regex"]


def first_refusal(field_entity, value):
    """The error message the page shows for `value`, or None when every regex
    validator accepts it. The pages try the validators in order and show the first
    failure; splunkd's generated handler (splunktaucclib validator.Pattern) uses
    re.match, and every pattern here is anchored with ^, so the verdict is the same."""
    for validator in regex_validators(field_entity):
        if not re.compile(validator["pattern"]).match(value):
            return validator.get("errorMsg", "no match")
    return None


def ui_accepts(field_entity, value):
    return first_refusal(field_entity, value) is None


_NODE_SCRIPT = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
// UCC's Validator: new RegExp(pattern).test(value), no flags
const out = input.values.map(v => input.patterns.map(p => new RegExp(p).test(v)));
process.stdout.write(JSON.stringify(out));
"""


def node_verdicts(patterns, values):
    """What the browser decides: for each value, whether every pattern matches
    (JavaScript RegExp, as UCC's Validator builds it). Skips without node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript half of the regex check needs it (CI has Node 20)")
    result = subprocess.run([node, "-e", _NODE_SCRIPT], input=json.dumps({"patterns": patterns, "values": values}),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [all(row) for row in json.loads(result.stdout)]
