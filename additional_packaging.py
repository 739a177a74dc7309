"""ucc-gen's build hook (https://splunk.github.io/addonfactory-ucc-generator/additional_packaging/).

ucc-gen calls cleanup_output_files() at the end of `ucc-gen build`, after it has
generated default/restmap.conf from globalConfig.json and copied package/ over the
output. The add-on has one REST endpoint ucc-gen cannot declare: globalConfig.json's
restHandlers register EAI handlers only, and a package/default/restmap.conf would
replace the generated file (ucc-gen 6.6 copies package/ over what it generated, it
does not merge). So the stanza is appended to the generated file here.
"""

import os

# The write path of the access-review records (bin/onepassword_review_endpoint.py).
REVIEW_RECORDS_STANZA = """
# The write path of the access-review records (Configuration > Access reviews), appended
# by additional_packaging.py. The tab's handler ([admin_external:ta_1password_events_review])
# forwards every create, edit and delete (a withdrawal) here with the caller's session.
# This endpoint checks the caller's onepassword_record_review capability and the author
# rule, adds one revision (never an overwrite), logs the change and writes the record files
# (ta_1password_events_review_revisions.conf, ta_1password_events_review.conf) with the
# system token splunkd passes it (passSystemAuth): default.meta lets only admins write them.
# The handler checks the capability (no `capability` setting here) so that every refused
# attempt is written to the change log too.
[script:ta_1password_events_review_records]
match = /ta_1password_events/review_records
script = onepassword_review_endpoint.py
scripttype = persist
handler = onepassword_review_endpoint.ReviewRecordsEndpoint
requireAuthentication = true
passSystemAuth = true
passSession = true
passPayload = false
output_modes = json
python.version = python3
python.required = 3.13
"""


# ucc-gen declares a reload trigger for each tab's conf file; the revisions of the review
# records are a conf file of their own, which no tab lists.
REVISIONS_TRIGGER = "reload.ta_1password_events_review_revisions = simple"


def cleanup_output_files(output_path, ta_name):
    _add_review_endpoint(output_path, ta_name)
    _add_revisions_trigger(output_path, ta_name)


def _add_revisions_trigger(output_path, ta_name):
    app_conf = os.path.join(output_path, ta_name, "default", "app.conf")
    with open(app_conf, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    if "[triggers]" not in lines or REVISIONS_TRIGGER in lines:
        raise SystemExit(f"{app_conf}: expected a [triggers] stanza without {REVISIONS_TRIGGER!r}")
    lines.insert(lines.index("[triggers]") + 1, REVISIONS_TRIGGER)
    with open(app_conf, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _add_review_endpoint(output_path, ta_name):
    restmap = os.path.join(output_path, ta_name, "default", "restmap.conf")
    with open(restmap, encoding="utf-8") as handle:
        generated = handle.read()
    if "[script:ta_1password_events_review_records]" in generated:
        raise SystemExit(f"{restmap} already declares the review-records endpoint: remove it from package/")
    with open(restmap, "a", encoding="utf-8") as handle:
        handle.write(REVIEW_RECORDS_STANZA if generated.endswith("\n") else "\n" + REVIEW_RECORDS_STANZA)
