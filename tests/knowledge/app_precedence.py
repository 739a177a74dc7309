"""How Splunk merges the default/ settings of several apps for one stanza, written from
Splunk's documented rules ("Configuration file precedence", Splunk Enterprise Admin Manual:
https://help.splunk.com/data-management/splunk-enterprise-admin-manual/9.1/administer-splunk-enterprise-with-configuration-files/configuration-file-precedence):

- Settings are merged attribute by attribute: every attribute any app sets is in the
  result, and where several apps set the same attribute the app of highest priority gives
  its value (an empty value included: it is a value, the attribute's default).
- Global context (index time: line breaking, timestamps, TRUNCATE; inputs): app directories
  in lexicographical order of their folder names, byte by byte, so "A" before "Z" before
  "a" (uppercase before lowercase); the first one wins.
- App/user context (search time: KV_MODE, FIELDALIAS, EVAL, LOOKUP; macros): the app the
  search runs in wins; then the other apps in reverse lexicographical order ("z" before "a"
  before "Z" before "A"), and only for what they export (metadata `export = system`).

Only default/ directories are modelled: an installed app's local/ is the admin's own.
"""


def precedence(apps, context=None):
    """Folder names, highest priority first. context: None for the global context, or the
    folder of the app a search runs in (the name of another app, e.g. "search", for a
    search in an app that sets nothing itself)."""
    if context is None:
        return sorted(apps)
    others = sorted((name for name in apps if name != context), reverse=True)
    return ([context] if context in apps else []) + others


def merged(apps, stanza, context=None, exported=lambda app: True):
    """{attribute: value} of `stanza` as Splunk sees it. apps: {folder: {stanza: {attr: value}}}.
    exported(app): whether another app's settings are visible in this app/user context."""
    result = {}
    for app in reversed(precedence(apps, context)):  # lowest first, so the highest is written last
        if context is not None and app != context and not exported(app):
            continue
        result.update(apps[app].get(stanza, {}))
    return result
