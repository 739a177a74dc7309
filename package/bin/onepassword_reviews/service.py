"""Create, edit and withdraw a review record: each adds one revision, none overwrites one.

An edit (and, if it says so, a withdrawal) names the revision it changes. The new
revision gets the next number only if nobody took it first: splunkd refuses to
create a stanza that exists, so of two edits of revision 3 one becomes revision 4
and the other is refused (HTTP 409) with what changed meanwhile, never lost silently.
"""

from . import changelog
from .model import (CAPABILITY, HISTORY_SHOWN, RECORD_FIELDS, REVIEWER_ROLE, Refused, check_name, check_values,
                    current_view, may_create, may_revise, new_revision, parse_revision, reviewer_fields)
from .store import RevisionTaken


def create(store, name, form, user, capabilities):
    _need_capability(capabilities)
    check_name(name)
    values = reviewer_fields(form)
    check_values(values)
    try:
        store.add_revision(new_revision(name, 1, "create", user, values, None))
    except RevisionTaken:
        raise Refused(409, f'Review not saved: a record named "{name}" already exists.') from None
    view = _relist(store, name, 1)
    changelog.log_saved("create", name, user, None, view, None)
    return view


def edit(store, name, form, user, capabilities):
    _need_capability(capabilities)
    if "disabled" in form:
        raise Refused(400, "Review records cannot be disabled; edit or withdraw the record instead.")
    base = parse_revision(form.get("revision"), required=True)
    values = reviewer_fields(form)
    latest, current = _latest(store, name, user, capabilities)
    _not_stale(name, base, latest, current)
    merged = {field: current.get(field, "") for field in RECORD_FIELDS}
    merged.update(values)
    check_values(merged)
    return _add(store, name, "edit", user, merged, current, latest)


def withdraw(store, name, form, user, capabilities):
    """"Delete": a last revision marking the record withdrawn, its values kept."""
    _need_capability(capabilities)
    base = parse_revision(form.get("revision"), required=False)
    latest, current = _latest(store, name, user, capabilities)
    if base is not None:
        _not_stale(name, base, latest, current)
    values = {field: current.get(field, "") for field in RECORD_FIELDS}
    return _add(store, name, "withdraw", user, values, current, latest)


def history(store, name):
    """Every revision of a record, oldest first."""
    listed = store.listed(name)
    latest = store.latest_number(name, _number(listed))
    if not latest:
        raise Refused(404, f'"{name}" does not exist')
    return store.revisions(name, latest)


def _add(store, name, change, user, values, current, latest):
    try:
        store.add_revision(new_revision(name, latest + 1, change, user, values, latest))
    except RevisionTaken:
        taken = store.revision(name, latest + 1) or {}
        raise Refused(409, _stale_message(name, latest, taken)) from None
    view = _relist(store, name, latest + 1)
    changelog.log_saved(change, name, user, current, view, latest)
    return view


def _latest(store, name, user, capabilities):
    """(number, revision) of the record's newest revision, once the caller may add one."""
    latest = store.latest_number(name, _number(store.listed(name)))
    if not latest:
        raise Refused(404, f'"{name}" does not exist')
    author = (store.revision(name, 1) or {}).get("user")
    if not may_revise(user, capabilities, author):
        raise Refused(403, f"Review not saved: only the record's author ({author}) or a Splunk admin may change "
                           f'"{name}". Record your own findings in a new record.')
    current = store.revision(name, latest)
    if current.get("change") == "withdraw":
        raise Refused(409, f'Review not saved: "{name}" was withdrawn by {current.get("user")} at '
                           f'{current.get("at")} (revision {latest}); its history stays, but it takes no more '
                           "changes. Record a new review instead.")
    return latest, current


def _not_stale(name, base, latest, current):
    if base != latest:
        raise Refused(409, _stale_message(name, base, current if base < latest else {}))


def _stale_message(name, base, newer):
    since = (f" It is now at revision {newer.get('revision')}, saved by {newer.get('user')} at {newer.get('at')}."
             if newer.get("revision") else "")
    return (f'Review not saved: "{name}" changed since you opened it (your change is based on revision {base}).'
            f"{since} Reopen the record, check the other change, and save yours again.")


def _relist(store, name, latest):
    """Rebuild the tab's row of the record from its revisions."""
    latest = store.latest_number(name, latest)
    view = current_view(store.revisions(name, latest, first_and_last=HISTORY_SHOWN))
    store.put_listed(name, view)
    return view


def _need_capability(capabilities):
    if not may_create(capabilities):
        raise Refused(403, f"Review not saved: recording access reviews needs the '{CAPABILITY}' capability "
                           f"(role {REVIEWER_ROLE}). Ask a Splunk admin to grant it.")


def _number(listed):
    try:
        return int((listed or {}).get("revision") or 0)
    except ValueError:
        return 0
