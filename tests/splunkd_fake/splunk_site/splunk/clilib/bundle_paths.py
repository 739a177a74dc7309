"""Fake of splunk.clilib.bundle_paths: paths under $SPLUNK_HOME."""

from splunkd_fake_runtime import make_splunkhome_path  # noqa: F401
