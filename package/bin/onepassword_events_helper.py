"""Input helper of the "1Password events" modular input (UCC inputHelperModule).

The generated bin/onepassword_events.py calls validate_input and stream_events;
this edge builds the Splunk edge (onepassword_splunk) from the session splunkd
hands the input, reads the configuration through it and hands it to the collector core.
"""

import import_declare_test  # noqa: F401  (puts the add-on's lib/ first on sys.path)

import logging
import time
import traceback

import onepassword_logfile
from onepassword_splunk import SplunkEdge
from onepassword_events import runner
from onepassword_events.errors import CollectorError, ConfigurationError, FeatureNotGrantedError, StopRequested
from onepassword_events.stopping import StopFlag
from onepassword_events.records import error_fields, log_record, status_counts_text, stream_summary_fields
from onepassword_events.sinks import ModularInputStream, SplunkXmlSink, whole_writes_stdout
from onepassword_events.streams import parse_stream_names


def validate_input(definition):
    params = definition.parameters
    try:
        parse_stream_names(params.get("event_types"))
        runner.parse_page_size(params.get("page_size"))
        runner.parse_start_time(params.get("start_time"))
    except (ValueError, ConfigurationError) as exc:
        raise ValueError(str(exc)) from None


def stream_events(inputs, event_writer):
    # The add-on writes the modular-input stream itself (sinks.py); splunklib's
    # event_writer stays unused, so its close() after this returns adds nothing.
    stop = StopFlag(run_seconds=runner.run_bound(inputs.inputs)).install()
    edge = SplunkEdge(inputs.metadata["session_key"], inputs.metadata.get("server_uri"))
    stream = ModularInputStream(whole_writes_stdout())  # whole pages even when SIGTERM interrupts a write
    try:
        for full_name, item in inputs.inputs.items():
            if stop():
                break
            collect_input(full_name, item, edge, stream, stop)
    finally:
        stream.close()
        edge.close()


def collect_input(full_name, item, edge, stream, stop_requested=lambda: False):
    """Run one input stanza: one account, its event types, until caught up.

    edge: where the configuration, the checkpoints and the log come from (onepassword_splunk)."""
    input_name = full_name.split("://", 1)[-1]
    logger = edge.input_logger(input_name)
    onepassword_logfile.input_started(logger, input_name)
    account_name = item.get("account")
    index = item.get("index") or "default"
    try:
        account = edge.read_account(account_name) if account_name else None
        if account is None:
            raise ConfigurationError(
                f"input {input_name} uses account {account_name!r}, which does not exist; pick an account on the Inputs page"
            )
        proxy = edge.proxy_url(logger)
        sleep = getattr(stop_requested, "sleep", time.sleep)
        client = runner.build_client(account, proxy_url=proxy, logger=logger, sleep=sleep,
                                     stop_requested=stop_requested)
        sink = SplunkXmlSink(stream, index=index, source=f"1password:{account_name}", stanza=full_name)
        with client:
            store = edge.checkpoint_store()
            try:
                runs = _run_streams(client, store, sink, item, input_name, account_name, logger, stop_requested)
            finally:
                store.close()
        _log_summary(edge, logger, full_name, account_name, index, runs, client)
    except CollectorError as exc:  # the API's, the checkpoints', splunkd's: each says what to do, no traceback
        _log_api_error(logger, exc, "input_failed", input_name, account_name)
    except StopRequested:
        log_record(logger, logging.INFO, "stop_requested", input=input_name, account=account_name,
                   reason=getattr(stop_requested, "reason", None) or "asked to stop before any event was written")
    except Exception as exc:  # keep other inputs of this process running
        log_record(logger, logging.ERROR, "input_failed", input=input_name, account=account_name,
                   **error_fields(exc), traceback=traceback.format_exc())
    finally:
        onepassword_logfile.input_ended(logger, input_name)


def _run_streams(client, store, sink, item, input_name, account_name, logger, stop_requested):
    collector, refused = runner.build_collector(
        client,
        store,
        sink,
        input_name,
        account_name,
        item.get("event_types"),
        runner.parse_start_time(item.get("start_time"), strict=False),
        runner.parse_page_size(item.get("page_size")),
        logger=logger,
        stop_requested=stop_requested,
    )
    for name in refused:
        _log_api_error(
            logger,
            FeatureNotGrantedError(
                f"the token of account {account_name} does not grant {name}; "
                "remove it from the input's event types or issue a token that grants it"
            ),
            "stream_skipped", input_name, account_name, stream=name,
        )
    return collector.run()


def _log_api_error(logger, exc, event, input_name, account_name, **context):
    """One record: what failed (event, input, account, stream), the error's category and label,
    and its message as one escaped value, so nothing a server wrote can read as a record of ours."""
    log_record(logger, logging.ERROR, event, input=input_name, account=account_name, **context, **error_fields(exc))


def _log_summary(edge, logger, full_name, account_name, index, runs, client):
    input_name = full_name.split("://", 1)[-1]
    for run in runs:
        if run.events:
            edge.events_ingested(logger, full_name, run.stream.sourcetype, run.events, index, account_name)
        log_record(logger, logging.INFO, "stream_summary", input=input_name, account=account_name,
                   **stream_summary_fields(run))
        if run.error is not None:
            _log_api_error(logger, run.error, "stream_failed", input_name, account_name, stream=run.stream.name)
    log_record(logger, logging.INFO, "run_summary", input=input_name, account=account_name, host=client.host,
               requests=client.requests_made, statuses=status_counts_text(client.status_counts),
               events=sum(r.events for r in runs))
