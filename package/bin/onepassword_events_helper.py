"""Input helper of the "1Password events" modular input (UCC inputHelperModule).

The generated bin/onepassword_events.py calls validate_input and stream_events;
this edge reads the Splunk configuration and hands it to the collector core.
"""

import import_declare_test  # noqa: F401  (puts the add-on's lib/ first on sys.path)

import sys
import time

import onepassword_splunk as splunk_edge
from onepassword_events import runner
from onepassword_events.checkpoint import CheckpointError
from onepassword_events.errors import ConfigurationError, EventsApiError, FeatureNotGrantedError, StopRequested
from onepassword_events.stopping import StopFlag
from onepassword_events.proxy import proxy_url
from onepassword_events.sinks import ModularInputStream, SplunkXmlSink
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
    session_key = inputs.metadata["session_key"]
    stream = ModularInputStream(sys.stdout)
    try:
        for full_name, item in inputs.inputs.items():
            if stop():
                break
            collect_input(full_name, item, session_key, stream, stop)
    finally:
        stream.close()


def collect_input(full_name, item, session_key, stream, stop_requested=lambda: False,
                  store=None, logger=None):
    """Run one input stanza: one account, its event types, until caught up."""
    from solnlib import log

    input_name = full_name.split("://", 1)[-1]
    logger = logger or splunk_edge.logger_for_input(input_name)
    logger.setLevel(splunk_edge.read_log_level(session_key, logger))
    log.modular_input_start(logger, input_name)
    account_name = item.get("account")
    index = item.get("index") or "default"
    try:
        account = splunk_edge.read_account(session_key, account_name) if account_name else None
        if account is None:
            raise ConfigurationError(
                f"input {input_name} uses account {account_name!r}, which does not exist; pick an account on the Inputs page"
            )
        proxy = proxy_url(splunk_edge.read_proxy(session_key, logger))
        sleep = getattr(stop_requested, "sleep", time.sleep)
        client = runner.build_client(account, proxy_url=proxy, logger=logger, sleep=sleep,
                                     stop_requested=stop_requested)
        sink = SplunkXmlSink(stream, index=index, source=f"1password:{account_name}", stanza=full_name)
        with client:
            collector, refused = runner.build_collector(
                client,
                store or splunk_edge.checkpoint_store(session_key),
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
                    f"event=stream_skipped stream={name}",
                )
            runs = collector.run()
        _log_summary(logger, full_name, account_name, index, runs, client)
    except EventsApiError as exc:
        _log_api_error(logger, exc, f"event=input_failed input={input_name}")
    except StopRequested:
        logger.info("event=stop_requested input=%s reason=%r", input_name,
                    getattr(stop_requested, "reason", None) or "asked to stop before any event was written")
    except CheckpointError as exc:
        log.log_exception(logger, exc, exc.label, full_msg=False,
                          msg_before=f"event=input_failed input={input_name} category={exc.category}")
    except Exception as exc:  # keep other inputs of this process running
        log.log_exception(logger, exc, "unexpected", msg_before=f"event=input_failed input={input_name}")
    finally:
        log.modular_input_end(logger, input_name)


def _log_api_error(logger, exc, prefix):
    from solnlib import log

    message = f"{prefix} category={exc.category} "
    log.log_exception(logger, exc, exc.label, full_msg=False, msg_before=message)


def _log_summary(logger, full_name, account_name, index, runs, client):
    from solnlib import log

    for run in runs:
        if run.events:
            log.events_ingested(logger, full_name, run.stream.sourcetype, run.events, index, account=account_name)
        logger.info(
            "event=stream_summary stream=%s status=%s events=%d pages=%d duplicates_skipped=%d "
            "newest_event_time=%s lag_s=%s",
            run.stream.name, run.status, run.events, run.pages, run.duplicates_skipped,
            run.newest_second, run.lag_seconds,
        )
        if run.error is not None:
            _log_api_error(logger, run.error, f"event=stream_failed stream={run.stream.name}")
    logger.info(
        "event=run_summary account=%s host=%s requests=%d statuses=%s events=%d",
        account_name, client.host, client.requests_made,
        ",".join(f"{k}:{v}" for k, v in sorted(client.status_counts.items())),
        sum(r.events for r in runs),
    )
