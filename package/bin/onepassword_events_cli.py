#!/usr/bin/env python3
"""Troubleshooting CLI of the 1Password Events add-on.

Run from the add-on's directory, e.g.
    OP_EVENTS_TOKEN=... python3 bin/onepassword_events_cli.py check
    OP_EVENTS_TOKEN=... python3 bin/onepassword_events_cli.py fetch --state-dir /tmp/op --format jsonl

The token comes from $OP_EVENTS_TOKEN or the first line of stdin, never from
the command line (argv is visible to every user of the host). Events go to
stdout, logs and errors to stderr.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB = os.path.join(os.path.dirname(_HERE), "lib")
if os.path.isdir(_LIB) and _LIB not in sys.path:
    sys.path.insert(0, _LIB)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C

TOKEN_ENV = "OP_EVENTS_TOKEN"

# --region: the four documented hosts, by short name or in full
REGIONS = {
    "com": "events.1password.com",
    "ent": "events.ent.1password.com",
    "ca": "events.1password.ca",
    "eu": "events.1password.eu",
}

# The collector core speaks to Splunk admins (the Proxy tab, the account); here
# the same advice names the CLI's own options.
_CLI_WORDS = (
    (re.compile(r"on the Proxy tab \(or --proxy\)"), "given with --proxy"),
    (re.compile(r"or a proxy on the Proxy tab"), "or the proxy given with --proxy"),
    (re.compile(r"set it on the Proxy tab"), "set it with --proxy"),
    (re.compile(r"in 1Password and update the account"), f"in 1Password and put it in ${TOKEN_ENV}"),
    (re.compile(r"check the CA bundle setting"), "check --ca-bundle"),
    (re.compile(r"check the region or (?:custom )?URL"), "check --region or --base-url"),
    (re.compile(r"choose the region explicitly"), "give --region or --base-url"),
    (re.compile(r"choose the region (\S+) for this account"), r"give --region \1"),
    (re.compile(r"delete the input's checkpoints \(recreate the input\)"), "empty --state-dir"),
)


def _cli_words(message):
    for pattern, words in _CLI_WORDS:
        message = pattern.sub(words, message)
    return message


def _read_token():
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token and not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    return token


def _parser():
    parser = argparse.ArgumentParser(
        prog="onepassword_events_cli.py",
        description=f"Check a 1Password Events Reporting token or fetch events. Token: ${TOKEN_ENV} or stdin.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def connection(p):
        where = p.add_mutually_exclusive_group()
        where.add_argument("--base-url", type=_base_url,
                           help="Events API base URL, with its scheme: https://host[:port] (http only on loopback)")
        where.add_argument("--region", type=_region, metavar="{com,ent,ca,eu}",
                           help="the account's region (default: read from the token)")
        p.add_argument("--ca-bundle", help="PEM file of CA certificates to trust")
        p.add_argument("--no-verify-tls", action="store_true", help="do not verify the server certificate")
        p.add_argument("--proxy", help="proxy URL, e.g. http://proxy:3128 or socks5h://proxy:1080")
        p.add_argument("--verbose", "-v", action="store_true", help="log requests and retries to stderr")

    def retry_budget(p, default):
        p.add_argument("--retry-budget", default=default, metavar="SECONDS",
                       help=f"time one request may take, attempts and 429/5xx/network retries together "
                            f"(default {default:g}, at most {SECONDS_RANGES['retry_budget'][1]:g})")
        p.add_argument("--read-timeout", default=60, metavar="SECONDS",
                       help="with the 10 s connect timeout, the deadline of one attempt, headers and body "
                            f"together, before it is retried (default 60, at most {SECONDS_RANGES['read_timeout'][1]:g})")

    check = sub.add_parser("check", help="verify the token and print what it grants (one JSON object)")
    connection(check)
    retry_budget(check, 20)
    fetch = sub.add_parser("fetch", help="fetch events until every stream is caught up")
    connection(fetch)
    retry_budget(fetch, 300)
    fetch.add_argument("--event-types", default="", help="comma-separated: signinattempts,itemusages,auditevents "
                       "(default: all the token grants)")
    fetch.add_argument("--start-time", default="", help="RFC 3339 start for streams without a checkpoint (default: 30 days back)")
    fetch.add_argument("--limit", default="1000", help="page size, 1-1000 (default 1000)")
    fetch.add_argument("--state-dir", help="directory of checkpoint files; a second run continues where this one stopped")
    fetch.add_argument("--format", choices=("jsonl", "splunk-xml"), default="jsonl")
    fetch.add_argument("--input-name", default="cli", type=_input_name,
                       help=f"checkpoint and stanza name, 1 to {MAX_INPUT_NAME} characters (default: cli)")
    fetch.add_argument("--account-name", default="cli", help="account name recorded in checkpoints and the source field")
    fetch.add_argument("--index", default="default", help="index written in --format splunk-xml")
    fetch.add_argument("--run-deadline", default=None, metavar="SECONDS",
                       help="stop the run after this long, with the checkpoint at the last written page "
                            "(default: no bound)")
    return parser


def _region(value):
    name = value.strip().lower()
    if name in REGIONS:
        return REGIONS[name]
    if name in REGIONS.values():
        return name
    raise argparse.ArgumentTypeError(
        f"'{value}' is not a region; choose com, ent, ca or eu (or --base-url https://host for a gateway)")


# the Inputs page's limit; the checkpoint file's name (and its spare's, 5 characters longer)
# must stay within the file system's 255
MAX_INPUT_NAME = 100


def _input_name(value):
    if not 1 <= len(value) <= MAX_INPUT_NAME:
        raise argparse.ArgumentTypeError(
            f"an input name of {len(value)} characters; use 1 to {MAX_INPUT_NAME}, as on the Inputs page")
    return value


def _base_url(value):
    # without a scheme the URL would be taken as https:// and a plain-http test
    # server would answer with a confusing TLS error
    if "://" not in value:
        raise argparse.ArgumentTypeError(
            f"'{value}' has no scheme; write https://{value} (or http://{value} for a test server on a "
            "loopback address such as 127.0.0.1)")
    return value


# (smallest, largest) seconds each option takes; outside them a run would
# retry for minutes or end before its first request
SECONDS_RANGES = {"read_timeout": (1, 3600), "retry_budget": (0, 86400), "run_deadline": (1, 30 * 86400)}


def _check_seconds(args):
    """Turn the seconds options into numbers; a message for the first one out of range, else None."""
    for name, (low, high) in SECONDS_RANGES.items():
        text = getattr(args, name, None)
        if text is None:
            continue
        try:
            value = float(str(text).strip())
        except ValueError:
            value = None
        if value is None or not low <= value <= high:  # also refuses nan and inf
            option = "--" + name.replace("_", "-")
            return f"{option} {text} must be a number of seconds from {low:g} to {high:g}"
        setattr(args, name, value)
    return None


def _account(args, token):
    if args.base_url:
        region, custom = "custom", args.base_url
    else:
        region, custom = args.region or "auto", None
    return {
        "token": token,
        "region": region,
        "custom_url": custom,
        "verify_tls": "0" if args.no_verify_tls else "1",
        "ca_bundle": args.ca_bundle,
    }


def _fail(message, code):
    sys.stderr.write(f"error: {_cli_words(_one_line(message))}\n")
    return code


class _CliWordsFormatter(logging.Formatter):
    def format(self, record):
        return _cli_words(super().format(record))


class _CheckLogFilter(logging.Filter):
    """check answers in one line, yet says that TLS verification is off, as fetch does."""

    def filter(self, record):
        return record.levelno >= logging.ERROR or str(record.msg).startswith("event=tls_verification_off")


def main(argv=None):
    args = _parser().parse_args(argv)
    wrong = _check_seconds(args)
    if wrong:
        return _fail(wrong, EXIT_USAGE)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliWordsFormatter("%(asctime)s level=%(levelname)s %(message)s"))
    if args.command == "check" and not args.verbose:
        handler.addFilter(_CheckLogFilter())  # fetch also warns about resets, clamps and retries
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[handler])
    logger = logging.getLogger("onepassword_events_cli")
    token = _read_token()
    if not token:
        return _fail(f"no token: set ${TOKEN_ENV} or pipe the token on stdin", EXIT_USAGE)

    from onepassword_events import runner
    from onepassword_events.checkpoint import CheckpointError, StateDirectoryError
    from onepassword_events.client import RetryPolicy
    from onepassword_events.errors import ConfigurationError, EventsApiError, StopRequested

    try:
        if args.command == "check":
            info = runner.check_account(_account(args, token), proxy_url=args.proxy, logger=logger,
                                        retry=RetryPolicy(budget=args.retry_budget), read_timeout=args.read_timeout)
            print(json.dumps({k: info[k] for k in ("features", "account_uuid", "issued_at", "host")}))
            return EXIT_OK
        return _fetch(args, token, logger)
    except KeyboardInterrupt:
        # Ctrl-C before a fetch took over SIGINT (or during check): nothing was half-written
        sys.stderr.write("interrupted: stopped before anything was written\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout was closed (`fetch | head`): stop quietly; the checkpoint holds
        # only pages written whole, so the next run continues from there
        _silence_stdout()
        return EXIT_OK
    except StopRequested:
        return _fail("stopped on request before any event was written", EXIT_API_ERROR)
    except (ConfigurationError, StateDirectoryError) as exc:
        return _fail(f"[{exc.category}] {exc}", EXIT_USAGE)
    except (EventsApiError, CheckpointError) as exc:
        return _fail(f"[{exc.category}] {exc}", EXIT_API_ERROR)
    except Exception as exc:  # noqa: BLE001 - one clear line; the traceback too with --verbose
        if args.verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        return _fail(f"[internal] {type(exc).__name__}: please report this with the command you ran"
                     f"{'' if args.verbose else ' (and -v, which adds the traceback)'}", EXIT_API_ERROR)


def _silence_stdout():
    """Point stdout at /dev/null, so the interpreter's final flush does not
    complain about the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _fetch(args, token, logger):
    from onepassword_events import runner
    from onepassword_events.client import RetryPolicy
    from onepassword_events.records import log_record, stream_summary_fields
    from onepassword_events.sinks import JsonLinesSink, ModularInputStream, SplunkXmlSink, whole_writes_stdout
    from onepassword_events.stopping import StopFlag
    from onepassword_splunk import LocalEdge

    # both raise ConfigurationError, which main() reports as a usage error
    start_time = runner.parse_start_time(args.start_time)
    limit = runner.parse_page_size(args.limit)
    stop = StopFlag(run_seconds=args.run_deadline).install()
    interrupted = []

    def ctrl_c(*_):
        # like SIGTERM: the page in flight is written and its cursor saved, then the run ends
        interrupted.append(True)
        stop.request()

    signal.signal(signal.SIGINT, ctrl_c)
    edge = LocalEdge(args.account_name, _account(args, token), logger, proxy=args.proxy, state_dir=args.state_dir)
    client = runner.build_client(edge.account, proxy_url=edge.proxy, logger=logger,
                                 retry=RetryPolicy(budget=args.retry_budget), sleep=stop.sleep,
                                 stop_requested=stop, read_timeout=args.read_timeout)
    store = edge.checkpoint_store()
    out = whole_writes_stdout()
    if args.format == "jsonl":
        sink = stream = JsonLinesSink(out)
    else:
        stream = ModularInputStream(out)
        sink = SplunkXmlSink(
            stream, index=args.index, source=f"1password:{args.account_name}",
            stanza=f"onepassword://{args.input_name}",
        )
    with client:
        try:
            collector, refused = runner.build_collector(
                client, store, sink, args.input_name, args.account_name, args.event_types, start_time, limit,
                logger=logger, stop_requested=stop,
            )
            runs = collector.run()
            stream.close()
        finally:
            store.close()
    for run in runs:
        log_record(logger, logging.INFO, "stream_summary", input=args.input_name, account=args.account_name,
                   **stream_summary_fields(run))
    if interrupted:
        sys.stderr.write(_summary(runs, interrupted=True) + "\n")
        return EXIT_INTERRUPTED
    sys.stderr.write(_summary(runs) + "\n")
    failures = [f"[permission] {name}: the token does not grant this event type; drop it from --event-types, "
                "or issue an Events Reporting token that grants it" for name in refused]
    # an error shared by every stream (a revoked token, an unreachable host) is said once
    for error in dict.fromkeys(r.error for r in runs if r.error is not None):
        names = ", ".join(r.stream.name for r in runs if r.error is error)
        failures.append(f"[{error.category}] {names}: {error}")
    for failure in failures:
        sys.stderr.write(f"error: {_cli_words(_one_line(failure))}\n")
    return EXIT_API_ERROR if failures else EXIT_OK


def _one_line(text):
    """Text from an error (which may quote a server) as one line: control characters escaped, so it
    can never start a line of its own."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _summary(runs, interrupted=False):
    """One line on stderr: what this run wrote, so a run that finds nothing new says so."""
    total = sum(run.events for run in runs)
    parts = ", ".join(f"{run.stream.name} {run.events:,}" for run in runs)
    if interrupted:
        return (f"interrupted: wrote {total:,} event{'' if total == 1 else 's'} ({parts}); "
                "the checkpoint holds every page written, so the next run continues from there")
    if total == 0 and all(run.status == "caught_up" for run in runs):
        return f"wrote 0 events: nothing new since the last run ({parts})"
    interrupted = " (stopped early: the next run continues from here)" if any(
        run.status in ("interrupted", "more_pending") for run in runs) else ""
    return f"wrote {total:,} event{'' if total == 1 else 's'} ({parts}){interrupted}"


if __name__ == "__main__":
    sys.exit(main())
