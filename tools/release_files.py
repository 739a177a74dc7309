"""Write the release files beside a built package:

    <package>.sha256    its SHA-256, in `sha256sum` format (`sha256sum -c` checks it)
    RELEASE_NOTES.md    the version's section of CHANGELOG.md (Keep a Changelog)

Usage: release_files.py PACKAGE VERSION CHANGELOG OUT_DIR
A version with no section in the changelog fails the build: a release says what changed.
"""

import hashlib
import os
import re
import sys


def changelog_section(text, version):
    """The `## [version] - date` section, heading included, up to the next `## ` heading."""
    lines = text.splitlines()
    heading = re.compile(r"## \[%s\](?:\s|$)" % re.escape(version))
    start = next((n for n, line in enumerate(lines) if heading.match(line)), None)
    if start is None:
        return None
    end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end]) + "\n"


def main(package, version, changelog, out_dir):
    with open(changelog, encoding="utf-8") as handle:
        notes = changelog_section(handle.read(), version)
    if notes is None:
        sys.stderr.write(f"FAIL: {changelog} has no section '## [{version}] - <date>' for the version being built\n")
        return 1
    digest = hashlib.sha256()
    with open(package, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    with open(package + ".sha256", "w", encoding="ascii") as handle:
        handle.write(f"{digest.hexdigest()}  {os.path.basename(package)}\n")
    with open(os.path.join(out_dir, "RELEASE_NOTES.md"), "w", encoding="utf-8") as handle:
        handle.write(notes)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
