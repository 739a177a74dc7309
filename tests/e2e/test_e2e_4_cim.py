"""4. CIM: `| datamodel Authentication|Change|Data_Access <dataset> search` returns each
event of the XML requirement samples with the field values the samples state.
(pytest-splunk-addon's generated tests run in ./run_e2e.sh, --splunk-type=external.)"""

import pytest

from . import checks, spl

SAMPLE_EVENTS = checks.cim_sample_events()
HOST = "e2e-cim"


@pytest.fixture(scope="module")
def cim_rows(splunk, e2e_settings, names, cim):
    """Index the sample events, then {(model, dataset): {raw: [rows]}} of the data-model searches."""
    if not cim:
        return None
    index = names.cim_index
    splunk.create_index(index)
    modinput = [event.hec_payload(index, HOST) for event in SAMPLE_EVENTS if event.input_type == "modinput"]
    splunk.hec_events(e2e_settings.hec_url, e2e_settings.hec_token, modinput)
    for event in SAMPLE_EVENTS:
        if event.input_type != "modinput":  # 1Password's own app: splunkd parses time from the text
            splunk.hec_raw(e2e_settings.hec_url, e2e_settings.hec_token, event.raw, index, event.sourcetype,
                           event.source, HOST)
    from .splunk_client import wait_for

    wait_for(lambda: splunk.count(spl.indexed_count(index)) >= len(SAMPLE_EVENTS), 600, 5,
             "the CIM samples to be searchable")
    out = {}
    for model, dataset in sorted({pair for event in SAMPLE_EVENTS for pair in event.models}):
        result = splunk.search(spl.datamodel_rows(model, dataset, index))
        assert not result.errors, (model, dataset, result.errors)
        by_raw = {}
        for row in result.rows:
            by_raw.setdefault(row.get("_raw"), []).append(row)
        out[(model, dataset)] = by_raw
    return out


@pytest.mark.parametrize("event", SAMPLE_EVENTS, ids=[e.id for e in SAMPLE_EVENTS])
def test_datamodel_returns_the_sample_with_its_cim_values(require_cim, cim_rows, event):
    rows, defined = [], set()
    for model, dataset in event.models:
        found = cim_rows[(model, dataset)].get(event.raw, [])
        assert found, "%s is not in | datamodel %s %s (%s)" % (event.id, model, dataset, event.name)
        rows.extend(found)
        defined |= checks.model_fields(model, dataset)
    assert checks.field_mismatches(event.fields, rows, defined) == {}
