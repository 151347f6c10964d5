"""kombu's file-system transport with atomic message writes, for the embedded mode.

kombu 5.7 creates a message file, then locks and writes it, while a consumer moves and
reads it without the lock: a consumer can read an empty file and the worker dies on a
JSONDecodeError (seen with beat and a worker as separate processes). Here a message is
written under a name the consumer ignores and renamed into place when complete, which is
atomic on one file system."""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")  # not "<queue>.msg": never consumed
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.rename(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES["filesystem-atomic"] = "config.kombu_filesystem:Transport"
