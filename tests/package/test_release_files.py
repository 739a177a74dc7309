"""What a release hands an admin: the package, a checksum `sha256sum -c` accepts, and
release notes that are the CHANGELOG's section of the version the package says it is;
a licence at the root, the same the package ships, and a private way to report a flaw."""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIST = os.path.join(ROOT, "dist")
ADDON = "TA-1password-events"


def _version():
    with open(os.path.join(ROOT, "globalConfig.json"), encoding="utf-8") as handle:
        return json.load(handle)["meta"]["version"]


def _package_app_conf_version(package):
    with tarfile.open(package) as archive:
        text = archive.extractfile("%s/default/app.conf" % ADDON).read().decode()
    launcher = text.split("[launcher]", 1)[1].split("\n[", 1)[0]
    return re.search(r"^version\s*=\s*(\S+)", launcher, re.M).group(1)


def _changelog_section(version):
    """Read as a person would: from the version's heading to the next release's."""
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as handle:
        text = handle.read()
    releases = re.split(r"(?m)^(?=## \[)", text)
    (section,) = [part for part in releases if part.startswith("## [%s] - " % version)]
    return section.rstrip() + "\n"


@pytest.mark.package
def test_the_build_writes_the_package_its_checksum_and_the_notes_of_its_version(built_addon):
    version = _version()
    package = os.path.join(DIST, "%s-%s.tar.gz" % (ADDON, version))
    assert os.path.isfile(package) and os.path.isfile(package + ".sha256")
    assert _package_app_conf_version(package) == version
    # sha256sum's own check, in the directory an admin downloads the two files to
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", os.path.basename(package) + ".sha256"], cwd=DIST,
                               capture_output=True, text=True)
        assert check.returncode == 0 and check.stdout.strip() == "%s-%s.tar.gz: OK" % (ADDON, version)
    with open(os.path.join(DIST, "RELEASE_NOTES.md"), encoding="utf-8") as handle:
        notes = handle.read()
    assert notes == _changelog_section(version)
    assert re.match(r"## \[%s\] - \d{4}-\d{2}-\d{2}\n" % re.escape(version), notes)


def test_the_release_tool_refuses_a_version_the_changelog_does_not_describe(tmp_path):
    package = tmp_path / "x.tar.gz"
    package.write_bytes(b"not really a package")
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## [Unreleased]\n\n## [0.9.0] - 2026-01-02\n\n- Older.\n")
    tool = os.path.join(ROOT, "tools", "release_files.py")
    result = subprocess.run([sys.executable, tool, str(package), "1.0.0", str(changelog), str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "no section '## [1.0.0]" in result.stderr
    assert not (tmp_path / "RELEASE_NOTES.md").exists() and not (tmp_path / "x.tar.gz.sha256").exists()
    # 1.0.0 is not 1.0.0-rc1's section, nor the other way round
    changelog.write_text("## [1.0.0-rc1] - 2026-01-01\n\n- Candidate.\n")
    assert subprocess.run([sys.executable, tool, str(package), "1.0.0", str(changelog), str(tmp_path)],
                          capture_output=True).returncode == 1


def test_the_licence_at_the_root_is_the_one_the_package_ships_and_the_readme_names():
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as handle:
        licence = handle.read()
    with open(os.path.join(ROOT, "package", "LICENSES", "LICENSE.txt"), encoding="utf-8") as handle:
        assert handle.read() == licence
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    assert "[Apache-2.0](LICENSE)" in readme and "[SECURITY.md](SECURITY.md)" in readme


def test_the_readme_says_how_to_install_the_file_and_promises_no_splunkbase_listing():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        install = handle.read().split("## Install\n", 1)[1].split("\n## ", 1)[0]
    assert "Apps › Manage Apps › Install app from file" in install
    assert "splunk install app" in install and "Upload App" in install and "sha256sum -c" in install
    assert "It is not listed on\nSplunkbase" in install or "not listed on Splunkbase" in install.replace("\n", " ")
    assert "from Splunkbase" not in install


def test_security_policy_sends_reports_to_private_advisories_not_public_issues():
    with open(os.path.join(ROOT, "SECURITY.md"), encoding="utf-8") as handle:
        policy = handle.read()
    assert "Report a vulnerability" in policy and "private vulnerability reporting" in policy
    assert "do **not** open a public issue" in policy
