"""The searches the e2e suite runs to observe Splunk, in one place. Their `rex` patterns
read the input's own log lines (onepassword_events_helper._log_summary); tests/e2e_helpers
runs those patterns over lines the real helper writes."""

RUN_SUMMARY_REX = r"event=run_summary .* events=(?<run_events>\d+)"
STREAM_SUMMARY_REX = r"event=stream_summary stream=(?<stream>\w+) status=(?<status>\w+) events=(?<n>\d+)"


def _rex(pattern):
    return pattern.replace("\\", "\\\\").replace('"', '\\"')


def input_log(input_name):
    return 'search index=_internal source="*ta_1password_events_%s.log"' % input_name


def run_summaries(input_name):
    """One row per run of the input, with run_events = the events it wrote."""
    return ('%s "event=run_summary" | rex "%s" | eval run_events=tonumber(run_events)'
            % (input_log(input_name), _rex(RUN_SUMMARY_REX)))


def events_written(input_name):
    return run_summaries(input_name) + " | stats sum(run_events) as n"


def caught_up_streams(input_name):
    """count = streams of the input with a run that ended caught up and found nothing new."""
    return ('%s "event=stream_summary" | rex "%s" | where status=="caught_up" AND tonumber(n)==0 '
            '| stats dc(stream) as count' % (input_log(input_name), _rex(STREAM_SUMMARY_REX)))


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
