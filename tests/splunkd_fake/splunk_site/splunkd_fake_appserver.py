"""One request to a persistent REST handler, the way splunkd's persistconn/appserver.py serves it.

    python3 -I -S splunkd_python.py splunkd_fake_appserver.py <handler script> [script args...]
    stdin: the request (JSON, as splunkd builds it); stdout: the handler's reply as JSON

Like appserver.py: the script is loaded by its path under a private module name (its
directory is not put on sys.path), the one class whose MRO holds a class named
PersistentServerConnectionApplication (other than that base itself) is the handler,
built with (command_line, command_arg); a dict reply is sent JSON-encoded.
Unlike splunkd, the process serves a single request.
"""

import importlib.util
import inspect
import json
import os
import re
import sys

BASE = "PersistentServerConnectionApplication"


def handler_class(path):
    name = "pschand__%s__in_%s" % (re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0]),
                                   re.sub(r"\W", "_", os.path.dirname(path)))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = [c for _, c in inspect.getmembers(module, inspect.isclass)
             if c.__name__ != BASE and any(m.__name__ == BASE for m in c.mro())]
    if len(found) != 1:
        raise NotImplementedError("%d classes implement %s in %s" % (len(found), BASE, path))
    return found[0]


def main():
    request = sys.stdin.read()
    cls = handler_class(os.path.abspath(sys.argv[1]))
    handler = cls.__new__(cls)
    handler.__init__(sys.argv[2:], None)
    reply = handler.handle(request)
    handler.done()
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8")
    sys.stdout.write(reply if isinstance(reply, str) else json.dumps(reply))


if __name__ == "__main__":
    main()
