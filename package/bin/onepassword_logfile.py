"""The input's log file and the lines Splunk's add-on monitoring counts, as
solnlib's `log` module writes them, without importing solnlib.

solnlib's package imports every module of its own and, through them, requests:
about 60 ms of CPU an input run would pay for three log lines. The file, its
rotation, its line format and these lines are solnlib's (7.0): a log written
by both, such as an input's file that its REST handler also writes to, reads as
one.
"""

import logging
import logging.handlers
import os
import threading

LOG_FORMAT = ("%(asctime)s log_level=%(levelname)s pid=%(process)d tid=%(threadName)s "
              "file=%(filename)s:%(funcName)s:%(lineno)d | %(message)s")
MAX_BYTES = 25_000_000
BACKUP_COUNT = 5

_LOCK = threading.Lock()


def log_path(name):
    """$SPLUNK_HOME/var/log/splunk/<name>.log, where Splunk indexes its own and its apps' logs (_internal)."""
    return os.path.join(os.environ["SPLUNK_HOME"], "var", "log", "splunk", f"{name}.log")


def file_logger(name):
    """The logger writing to `name`'s log file, at INFO until set otherwise; one handler per file,
    whoever made it first (this module or solnlib)."""
    path = log_path(name)
    logger = logging.getLogger(path)  # named by its file, as solnlib names it
    with _LOCK:
        if not any(getattr(handler, "baseFilename", None) == path for handler in logger.handlers):
            handler = logging.handlers.RotatingFileHandler(path, mode="a", maxBytes=MAX_BYTES,
                                                           backupCount=BACKUP_COUNT)
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
    return logger


def _log_fields(logger, fields):
    logger.info(" ".join(f"{key}={value}" for key, value in fields.items()))


def input_started(logger, input_name):
    _log_fields(logger, {"action": "started", "modular_input_name": input_name})


def input_ended(logger, input_name):
    _log_fields(logger, {"action": "ended", "modular_input_name": input_name})


def events_ingested(logger, full_name, sourcetype, count, index, account):
    """The line the monitoring dashboards of Splunk's add-on builder count ingested events by."""
    _log_fields(logger, {"action": "events_ingested", "modular_input_name": full_name,
                         "sourcetype_ingested": sourcetype, "n_events": count,
                         "event_input": full_name.split("/")[-1], "event_index": index,
                         **({"event_account": account} if account else {})})
