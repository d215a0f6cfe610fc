"""A real SMTP server's mailbox for delivery tests (aiosmtpd handler), and a free port to run one on."""
import socket
import threading
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy


class Inbox:
    """An SMTP server's mailbox: the notification id of every message it accepted."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids: list[int] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self.lock:
            self.ids.append(int(parsed["X-Chainmatch-Notification"]))
        return "250 OK"

    def counts(self) -> Counter:
        with self.lock:
            return Counter(self.ids)


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
