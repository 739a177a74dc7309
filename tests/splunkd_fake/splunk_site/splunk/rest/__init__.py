"""Fake of splunk.rest: simpleRequest against the management port of server.conf/web.conf."""

from splunkd_fake_runtime import simpleRequest  # noqa: F401
