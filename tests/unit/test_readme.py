"""The README and docs describe the repository as it is: every file they link
to exists, and every test folder the suite collects is named in the README."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _documents():
    yield os.path.join(ROOT, "README.md")
    docs = os.path.join(ROOT, "docs")
    for name in sorted(os.listdir(docs)):
        if name.endswith(".md"):
            yield os.path.join(docs, name)


def test_every_relative_link_of_the_readme_and_docs_leads_to_a_file_of_the_repository():
    missing = []
    for document in _documents():
        with open(document, encoding="utf-8") as handle:
            text = handle.read()
        for target in LINK.findall(text):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(document), target))
            if not os.path.exists(path):
                missing.append(f"{os.path.relpath(document, ROOT)} -> {target}")
    assert not missing, missing


def test_the_readme_names_every_test_folder_of_the_suite():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    tests = os.path.join(ROOT, "tests")
    folders = sorted(name for name in os.listdir(tests) if os.path.isdir(os.path.join(tests, name))
                     and any(f.startswith("test_") and f.endswith(".py") for f in os.listdir(os.path.join(tests, name))))
    assert folders and [f for f in folders if f"tests/{f}" not in readme] == []
