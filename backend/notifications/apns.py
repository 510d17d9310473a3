"""The APNs client (aioapns: HTTP/2, token auth), one per worker process.

aioapns is asyncio code whose connections belong to the loop that opened
them and whose idle timers must keep running between jobs: it lives on the
worker's one event loop (backend/runtime.py), opened on first use and closed
with the runtime. One HTTP/2 connection pool per process, shared by all its
actors.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aioapns import APNs
from aioapns.common import NotificationRequest, NotificationResult
from django.conf import settings

from backend import runtime

log = logging.getLogger(__name__)

# One send waits at most this long for Apple's answer (then it is retried).
SEND_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class ApnsConfig:
    key: str  # the .p8 file's PEM text
    key_id: str
    team_id: str
    topic: str
    use_sandbox: bool
    host: str
    port: int
    ca_file: str


def get_config() -> ApnsConfig | None:
    """APNs settings, or None when push notifications are not configured."""
    if not (
        settings.APNS_KEY_PATH
        and settings.APNS_KEY_ID
        and settings.APNS_TEAM_ID
        and settings.APNS_TOPIC
    ):
        return None
    return ApnsConfig(
        key=Path(settings.APNS_KEY_PATH).read_text(),
        key_id=settings.APNS_KEY_ID,
        team_id=settings.APNS_TEAM_ID,
        topic=settings.APNS_TOPIC,
        use_sandbox=settings.APNS_USE_SANDBOX,
        host=settings.APNS_HOST,
        port=settings.APNS_PORT,
        ca_file=settings.APNS_CA_FILE,
    )


def _ssl_context(config: ApnsConfig) -> ssl.SSLContext:
    # With a CA file only that CA is trusted (the stand-in's); without, the
    # system's CAs, which include the one Apple's servers chain to.
    context = ssl.create_default_context(cafile=config.ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    return context


async def _ignore_error(request: NotificationRequest, result: NotificationResult) -> None:
    """The caller classifies every result (delivery.py); aioapns need not log it too."""


def build_client(config: ApnsConfig) -> APNs:
    """An aioapns client; must be called on the loop that will use it."""
    client = APNs(
        key=config.key,
        key_id=config.key_id,
        team_id=config.team_id,
        topic=config.topic,
        use_sandbox=config.use_sandbox,
        ssl_context=_ssl_context(config),
        max_connections=4,
        err_func=_ignore_error,
    )
    if config.host:
        # aioapns takes the host (also sent as the `host` header and used as
        # the TLS server name) and port from class attributes of its protocol
        # class and has no option for them, so a subclass overrides just
        # those two; everything else (framing, JWT, pooling) is aioapns's own.
        base = client.pool.protocol_class
        client.pool.protocol_class = type(
            f"Custom{base.__name__}",
            (base,),
            {"APNS_SERVER": config.host, "APNS_PORT": config.port},
        )
    return client


class ApnsSender:
    """Sends through one aioapns client on this process's loop."""

    def __init__(self, config: ApnsConfig) -> None:
        self.config = config
        self._client: APNs | None = None

    async def _send_one(self, request: NotificationRequest) -> NotificationResult:
        if self._client is None:
            self._client = build_client(self.config)
        return await asyncio.wait_for(self._client.send_notification(request), SEND_TIMEOUT_SECONDS)

    async def send(
        self, requests: Sequence[NotificationRequest]
    ) -> list[NotificationResult | BaseException]:
        """Send the requests concurrently; a result or the exception, per request."""
        # HTTP/2 multiplexes: the pushes of a batch are in flight together.
        return await asyncio.gather(*(self._send_one(r) for r in requests), return_exceptions=True)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.pool.close()


_NOT_CONFIGURED = object()


def get_sender() -> ApnsSender | None:
    """This process's sender (made on first use, closed with the runtime), or None."""
    rt = runtime.current()
    sender = rt.services.get("apns", _NOT_CONFIGURED)
    if sender is _NOT_CONFIGURED:
        config = get_config()
        if config is None:
            log.warning("APNs is not configured (APNS_KEY_PATH etc.): pushes are skipped")
            sender = None
        else:
            sender = ApnsSender(config)
            rt.extras.append(sender.close)
        rt.services["apns"] = sender
    return sender  # type: ignore[return-value]
