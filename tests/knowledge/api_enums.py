"""Read the API enumerations of events-api.md section 7 (sign-in category and type, item
usage action, audit action and object_type)."""

import re

SECTION_START = "## 7. Event fields"
SECTION_END = "## 8."


def _codes(line):
    return re.findall(r"`([a-z0-9_\-]+)`", line)


def parse_events_api_md(text):
    section = text[text.index(SECTION_START):text.index(SECTION_END)]
    lines = section.splitlines()

    def line_starting(prefix):
        for line in lines:
            if line.lstrip("- ").startswith(prefix):
                return line
        raise ValueError("no line starting with %r in section 7" % prefix)

    def comma_list(prefix):
        line = line_starting(prefix)
        return [word.strip(" .") for word in line.split(":", 1)[1].split(",") if word.strip(" .")]

    return {
        "signin_category": _codes(line_starting("`category`:"))[1:],
        "signin_type": _codes(line_starting("`type`:"))[1:],
        "item_action": _codes(line_starting("`action`: `"))[1:],
        "audit_action": comma_list("`action` values"),
        "audit_object_type": comma_list("`object_type` values"),
    }
