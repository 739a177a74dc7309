"""The searches the e2e suite runs to observe Splunk, in one place. They read the input's
own log records (one JSON object after solnlib's prefix, onepassword_events_helper._log_summary)
as the add-on's macro onepassword_log_records does; tests/e2e_helpers applies them to lines
the real helper writes."""

# the add-on's macro onepassword_log_record_field
RECORD_REX = r"^[^|\n]*\| (?<op_record>\{.*\})\s*$"


def _rex(pattern):
    return pattern.replace("\\", "\\\\").replace('"', '\\"')


def input_log(input_name):
    return 'search index=_internal source="*ta_1password_events_%s.log"' % input_name


def _records(input_name, event):
    return ('%s "%s" | rex "%s" | where isnotnull(op_record) | eval log_event=json_extract(op_record, "event") '
            '| where log_event=="%s"' % (input_log(input_name), event, _rex(RECORD_REX), event))


def run_summaries(input_name):
    """One row per run of the input, with run_events = the events it wrote."""
    return _records(input_name, "run_summary") + ' | eval run_events=tonumber(json_extract(op_record, "events"))'


def events_written(input_name):
    return run_summaries(input_name) + " | stats sum(run_events) as n"


def caught_up_streams(input_name):
    """count = streams of the input with a run that ended caught up and found nothing new."""
    return (_records(input_name, "stream_summary") + ' | eval stream=json_extract(op_record, "stream"), '
            'status=json_extract(op_record, "status"), n=tonumber(json_extract(op_record, "events")) '
            '| where status=="caught_up" AND n==0 | stats dc(stream) as count')


def indexed_count(index):
    return "| tstats count where index=%s" % index


def counts_by_index(indexes):
    return "| tstats count where (%s) by index" % " OR ".join("index=%s" % i for i in sorted(indexes))


def ingested_events(index):
    """Every event of the index with its exact _time (microseconds) and metadata."""
    return ('search index=%s | eval e2e_time=printf("%%.6f", _time) | table _raw e2e_time sourcetype source'
            % index)


def datamodel_rows(model, dataset, index):
    return "| datamodel %s %s search | search index=%s | table _raw *" % (model, dataset, index)


def log_lines_by_source(paths):
    return "search index=_internal (%s) | stats count by source" % " OR ".join(
        'source="%s"' % path for path in sorted(paths))


def alert_fired(app, rule):
    return 'search index=_audit action=alert_fired ss_app="%s" ss_name="%s" | stats count' % (app, rule)


def alerts_by_sid(app, rule, sids):
    """Alerts the rule's jobs fired, one audit event per triggered alert."""
    return ('search index=_audit action=alert_fired ss_app="%s" ss_name="%s" (%s) | stats count by sid'
            % (app, rule, " OR ".join('sid="%s"' % sid for sid in sids)))


def scheduler_runs(app, rule):
    """The scheduler's successful runs of one saved search (scheduler.log)."""
    return ('search index=_internal sourcetype=scheduler app="%s" savedsearch_name="%s" status=success '
            '| table sid scheduled_time result_count' % (app, rule))
