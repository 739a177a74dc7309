"""The repository stands alone, and what ships speaks to customers.

- No tracked file names a path outside the repository: no absolute path into a
  home or work directory of the machine it was written on, no `../shared`-style
  reference to a sibling of the clone, no relative Markdown link that climbs out.
- No file under package/ (what customers install) speaks of the project's issues.
"""

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SELF = os.path.relpath(os.path.abspath(__file__), ROOT).replace(os.sep, "/")

# An absolute path into a directory that exists on one machine only; a path of
# the product (/opt/splunk, $SPLUNK_HOME/...) or a scratch file (/tmp/...) is fine.
OUTSIDE_PATH = re.compile(r"(?<![\w.$}~-])/(?:work|root|home|Users|mnt)/[\w.-]+")
# the project's working notes beside the clone (only events-api.md is copied in: tests/knowledge/reference)
SIBLING_REFERENCE = re.compile(r"\.\./(?:\.\./)*shared\b|\bshared/reference/|\bshared/peer_samples\b|\bpeers\.md\b"
                               r"|\bsplunk-conventions\.md\b|\bdesign\.md\b")
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
ISSUE_MENTION = re.compile(r"\bissues?\s*#?\d+\b", re.I)


def _tracked_texts():
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in names.decode().split("\0"):
        path = os.path.join(ROOT, name)
        if not name or not os.path.isfile(path) or name == SELF:
            continue  # this file names the patterns it looks for
        try:
            with open(path, encoding="utf-8") as handle:
                yield name, handle.read()
        except UnicodeDecodeError:
            continue  # images and other binary files


def _findings(pattern, names=None):
    found = []
    for name, text in _tracked_texts():
        if names is not None and not names(name):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                found.append("%s:%d: %s" % (name, number, match.group(0)))
    return found


def test_no_tracked_file_names_an_absolute_path_outside_the_repository():
    assert _findings(OUTSIDE_PATH) == []


def test_no_tracked_file_refers_to_a_directory_beside_the_clone():
    assert _findings(SIBLING_REFERENCE) == []


def test_relative_links_in_markdown_stay_inside_the_repository():
    escaping = []
    for name, text in _tracked_texts():
        if not name.endswith(".md"):
            continue
        for target in MARKDOWN_LINK.findall(text):
            if "://" in target or target.startswith("mailto:"):
                continue
            resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(name), target))
            if os.path.relpath(resolved, ROOT).startswith(".."):
                escaping.append("%s: %s" % (name, target))
    assert escaping == []


def test_no_shipped_file_speaks_of_issues():
    assert _findings(ISSUE_MENTION, names=lambda name: name.startswith("package/")) == []


def test_the_patterns_catch_what_they_are_for():
    # so that the tests above cannot pass by matching nothing
    assert OUTSIDE_PATH.search("see /home/analyst/reference/events-api.md") is not None
    assert OUTSIDE_PATH.search("python /root/.pyenv/versions/3.9.18/bin/python3") is not None
    assert OUTSIDE_PATH.search("$SPLUNK_HOME/etc/apps and /opt/splunk/var and /tmp/op-demo-token") is None
    # built from parts so that this file, itself scanned, names no directory beside the clone
    assert SIBLING_REFERENCE.search("open " + "../" + "shared/notes.md") is not None
    assert ISSUE_MENTION.search("# --- dashboards (issue 6) ---") is not None
    assert ISSUE_MENTION.search("see issue #12") is not None
    assert ISSUE_MENTION.search("an issued token; 6 issues found") is None
