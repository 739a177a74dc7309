"""Fake of splunkd's `splunk` package: just what splunktaucclib imports."""


class RESTException(Exception):
    def __init__(self, statusCode=500, msg=""):
        super().__init__(msg)
        self.statusCode = statusCode
        self.msg = msg
