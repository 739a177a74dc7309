"""REST handler of the "1Password events" input: deleting an input deletes its checkpoints.

Without this, an input re-created under the same name would silently resume
from the old cursor instead of its start time.
"""

import import_declare_test  # noqa: F401

from splunktaucclib.rest_handler.admin_external import AdminExternalHandler

from onepassword_splunk import SplunkEdge
from onepassword_events.checkpoint import checkpoint_key
from onepassword_events.errors import SPLUNK_LABELS
from onepassword_events.streams import STREAM_NAMES


class InputCheckpointHandler(AdminExternalHandler):
    def handleRemove(self, confInfo):
        input_name = str(self.callerArgs.id)
        with SplunkEdge(self.getSessionKey()) as edge:
            delete_checkpoints(edge, input_name)
        AdminExternalHandler.handleRemove(self, confInfo)


def delete_checkpoints(edge, input_name):
    from solnlib import log

    logger = edge.logger_for_input(input_name)
    keys = [checkpoint_key(input_name, stream_name) for stream_name in STREAM_NAMES]
    try:
        store = edge.checkpoint_store()
    except Exception as exc:  # nor may a KV store that is down or starting up
        log.log_exception(logger, exc, SPLUNK_LABELS["checkpoint"], full_msg=False,
                          msg_before=f"event=checkpoint_delete_failed keys={','.join(keys)}")
        return
    for key in keys:
        try:
            store.delete(key)
        except Exception as exc:  # a missing record must not block the removal
            log.log_exception(logger, exc, SPLUNK_LABELS["checkpoint"], full_msg=False,
                              msg_before=f"event=checkpoint_delete_failed key={key}")
        else:
            logger.info("event=checkpoint_deleted key=%s", key)
