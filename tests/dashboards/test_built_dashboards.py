"""The built add-on (output/TA-1password-events): dashboards in the nav, review records wired and guarded."""

import os
import re
import xml.etree.ElementTree as ET

import pytest

import dashboard_queries as dq
from conf_reader import read_conf
from onepassword_reviews import model as review
from onepassword_reviews.store import RECORDS_CONF, REVISIONS_CONF

pytestmark = pytest.mark.package


def test_the_nav_of_the_built_addon_shows_the_dashboards_and_the_ucc_pages(built_addon):
    nav = ET.parse(os.path.join(built_addon, "default", "data", "ui", "nav", "default.xml")).getroot()
    views = [v.get("name") for v in nav.iter("view")]
    shipped = {os.path.splitext(f)[0] for f in os.listdir(os.path.join(built_addon, "default", "data", "ui", "views"))}
    dashboards = {os.path.splitext(os.path.basename(p))[0] for p in dq.dashboard_files()}
    assert dashboards <= set(views) and dashboards <= shipped
    for view in views:  # every nav entry exists in the package (or is Splunk's own search view)
        assert view in shipped or view == "search", view
    assert set(dq.UCC_VIEWS) <= shipped


def test_the_built_views_are_the_package_views(built_addon):
    for path in dq.dashboard_files():
        built = os.path.join(built_addon, "default", "data", "ui", "views", os.path.basename(path))
        assert open(built, encoding="utf-8").read() == open(path, encoding="utf-8").read()


def test_the_review_endpoint_is_generated_with_our_guarded_handler(built_addon):
    restmap = read_conf(os.path.join(built_addon, "default", "restmap.conf"))
    members = [m.strip() for m in restmap["admin:ta_1password_events_configuration"]["members"].split(",")]
    assert "ta_1password_events_review" in members
    handler = restmap["admin_external:ta_1password_events_review"]
    assert handler["handlerfile"] == "ta_1password_events_rh_review.py"
    assert set(a.strip() for a in handler["handleractions"].split(",")) == {"edit", "list", "remove", "create"}
    generated = open(os.path.join(built_addon, "bin", "ta_1password_events_rh_review.py"), encoding="utf-8").read()
    assert "from onepassword_review_handler import ReviewRecordHandler" in generated
    assert "handler=ReviewRecordHandler" in generated
    assert re.search(r"SingleModel\(\s*'ta_1password_events_review'", generated)
    for module in ("model", "store", "service", "changelog"):  # the endpoint's core ships beside it
        assert os.path.exists(os.path.join(built_addon, "bin", "onepassword_reviews", module + ".py")), module
    # the endpoint every change goes through (appended to the generated restmap.conf by additional_packaging.py)
    endpoint = restmap["script:ta_1password_events_review_records"]
    assert endpoint["passSystemAuth"] == "true" and endpoint["scripttype"] == "persist"
    assert os.path.exists(os.path.join(built_addon, "bin", endpoint["script"]))
    web = read_conf(os.path.join(built_addon, "default", "web.conf"))
    assert "expose:ta_1password_events_review_specified" in web


def test_the_built_addon_declares_the_capability_role_and_record_permissions(built_addon):
    authorize = read_conf(os.path.join(built_addon, "default", "authorize.conf"))
    assert "capability::" + review.CAPABILITY in authorize
    assert authorize["role_" + review.REVIEWER_ROLE][review.CAPABILITY] == "enabled"
    meta = read_conf(os.path.join(built_addon, "metadata", "default.meta"))
    app = read_conf(os.path.join(built_addon, "default", "app.conf"))
    for conf in (RECORDS_CONF, REVISIONS_CONF):
        assert meta[conf]["access"] == "read : [ * ], write : [ admin, sc_admin ]"  # reviewers write through the endpoint only
        assert app["triggers"]["reload." + conf] == "simple"
        assert os.path.exists(os.path.join(built_addon, "README", conf + ".conf.spec"))
    # records are never shipped: they live in local/ of the installed add-on
    assert not os.path.exists(os.path.join(built_addon, "default", RECORDS_CONF + ".conf"))
    assert read_conf(os.path.join(built_addon, "default", REVISIONS_CONF + ".conf")) == {}
    assert not os.path.exists(os.path.join(built_addon, "local"))


def test_the_checkpoint_lookup_and_dashboard_macros_ship(built_addon):
    transforms = read_conf(os.path.join(built_addon, "default", "transforms.conf"))
    assert transforms["onepassword_checkpoints"]["collection"] == "ta_1password_events_checkpoints"
    collections = read_conf(os.path.join(built_addon, "default", "collections.conf"))
    assert "ta_1password_events_checkpoints" in collections
    macros = read_conf(os.path.join(built_addon, "default", "macros.conf"))
    for name in ("onepassword_collector_logs", "onepassword_checkpoints", "onepassword_review_records",
                 "onepassword_review_change_log", "onepassword_review_conf_changes", "onepassword_fired_alerts",
                 "onepassword_risk_events", "onepassword_detection_rules"):
        assert name in macros, name
