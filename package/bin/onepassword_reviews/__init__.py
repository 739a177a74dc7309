"""Access-review records: append-only revisions, who may add one, and their change log.

model.py     what a record and a revision hold, the checks and the rule of who may change what
store.py     where revisions live (two conf files, written with splunkd's system token)
changelog.py the bounded JSON change log
service.py   create, edit and withdraw: one new revision each, never an overwrite

The REST endpoint (bin/onepassword_review_endpoint.py) and the Configuration tab's
handler (bin/onepassword_review_handler.py) are thin edges over these.
"""
