#!/usr/bin/env bash
# Build the installable add-on package and its release files:
#   dist/TA-1password-events-<version>.tar.gz         the package
#   dist/TA-1password-events-<version>.tar.gz.sha256  its SHA-256 (sha256sum -c)
#   dist/RELEASE_NOTES.md                             the version's section of CHANGELOG.md
#
#   ./ucc_build.sh                  build, package, AppInspect (cloud precert) gate
#   ./ucc_build.sh --skip-appinspect  build and package only (used by the tests)
#
# Works on a fresh clone: makes its own virtualenv (.venv) from requirements.txt.
set -euo pipefail
cd "$(dirname "$0")"

ADDON=TA-1password-events
RUN_APPINSPECT=1
for arg in "$@"; do
  case "$arg" in
    --skip-appinspect) RUN_APPINSPECT=0 ;;
    *) echo "usage: $0 [--skip-appinspect]" >&2; exit 2 ;;
  esac
done

. tools/ensure_venv.sh

VERSION=$("$VENV/bin/python" -c 'import json; print(json.load(open("globalConfig.json"))["meta"]["version"])')
echo "== building $ADDON $VERSION"
rm -rf output
# ucc-gen upgrades pip to the newest release unless told otherwise, and pip 26
# breaks its `pip show --version` call. charset-normalizer is built from source
# so no mypyc-compiled .so lands in lib/ (a custom flag string replaces the
# default flags, hence the repetition).
"$VENV/bin/ucc-gen" build --source package --ta-version "$VERSION" \
  --pip-version 25.0.1 \
  --pip-custom-flag="--no-binary=charset-normalizer --no-compile --prefer-binary --ignore-installed"

OUT="output/$ADDON"
find "$OUT" -name '__pycache__' -type d -prune -exec rm -rf {} +
find "$OUT" \( -name '*.pyc' -o -name '*.pyo' \) -delete
rm -rf "$OUT/lib/bin"   # console scripts of vendored packages: not used, not portable

compiled=$(find "$OUT/lib" -type f \( -name '*.so' -o -name '*.pyd' -o -name '*.dll' -o -name '*.dylib' \) || true)
if [ -n "$compiled" ]; then
  echo "FAIL: compiled files in lib/ (the package must be pure Python for Splunk Cloud, x86_64 and aarch64):" >&2
  echo "$compiled" >&2
  exit 1
fi

chmod -R u+rw,go-w,a+rX output
mkdir -p dist
rm -f "dist/$ADDON-$VERSION.tar.gz" "dist/$ADDON-$VERSION.tar.gz.sha256" dist/RELEASE_NOTES.md
"$VENV/bin/ucc-gen" package --path "$OUT" -o dist
PACKAGE=$(ls dist/"$ADDON"-"$VERSION"*.tar.gz | head -1)
"$VENV/bin/python" tools/release_files.py "$PACKAGE" "$VERSION" CHANGELOG.md dist
echo "== package: $PACKAGE"
echo "== release files: $PACKAGE.sha256, dist/RELEASE_NOTES.md"

if [ "$RUN_APPINSPECT" = 1 ]; then
  REPORT=dist/appinspect-report.json
  echo "== AppInspect (precert, cloud)"
  "$VENV/bin/splunk-appinspect" inspect "$PACKAGE" --mode precert --included-tags cloud \
    --output-file "$REPORT" --data-format json >/dev/null
  "$VENV/bin/python" tools/appinspect_gate.py "$REPORT"
fi
