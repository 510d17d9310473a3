"""A local stand-in for Apple's push service (APNs), speaking its real protocol.

HTTP/2 over TLS (the `h2` package on asyncio), the provider API as Apple
documents it: `POST /3/device/<token>` with `authorization: bearer <JWT>`
(ES256, signed with the .p8 key: checked against its public key, `kid`,
`iss` = team ID, `iat` at most an hour old), `apns-topic`, `apns-push-type`,
`apns-id`, `apns-collapse-id`, a JSON body of at most 4 KB. It answers 200
with the `apns-id`, or Apple's status and `{"reason": ...}` for a bad
request, or what a test scripted for that device token (503 then 200; 410
Unregistered).

A second port speaks plain HTTP/1.1 JSON for tests:
  POST /script    {"token": T, "responses": [{"status": 503, "reason": "ServiceUnavailable"}, ...]}
                  the next requests for T get these answers, in order (then 200)
  GET  /requests?token=T   {"requests": [...]} every request for T, as received
  GET  /healthz

  python tests/apns_standin.py --make-keys DIR    (a test .p8 key, a CA, a server certificate)
  python tests/apns_standin.py --port P --control-port C --key-pub PATH \\
      --cert PATH --keyfile PATH [--key-id K --team-id T --topic BUNDLE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import re
import ssl
import sys
import time
import uuid
from collections import defaultdict, deque
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import ProtocolError

PUSH_TYPES = {
    "alert",
    "background",
    "location",
    "voip",
    "complication",
    "fileprovider",
    "mdm",
    "liveactivity",
    "pushtotalk",
}
MAX_PAYLOAD = 4096
TOKEN_MAX_AGE = 3600  # Apple: ExpiredProviderToken after an hour
PATH_RE = re.compile(r"/3/device/(?P<token>[^/]*)")
HEX_RE = re.compile(r"[0-9a-fA-F]{64,200}")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class Standin:
    """What every connection shares: the checks' parameters, scripts and records."""

    def __init__(self, public_key: str, key_id: str, team_id: str, topic: str) -> None:
        self.public_key = public_key
        self.key_id = key_id
        self.team_id = team_id
        self.topic = topic
        self.scripts: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def check_jwt(self, authorization: str | None) -> tuple[dict[str, Any], str | None]:
        """What the bearer token says, and why it is refused (None: accepted)."""
        info: dict[str, Any] = {"verified": False}
        if not authorization:
            return info, "MissingProviderToken"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return info, "InvalidProviderToken"
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["ES256"],
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.PyJWTError as e:
            info["error"] = str(e)
            return info, "InvalidProviderToken"
        info.update(header=header, claims=claims)
        if header.get("alg") != "ES256":
            return info, "InvalidProviderToken"
        if self.key_id and header.get("kid") != self.key_id:
            return info, "InvalidProviderToken"
        if self.team_id and claims.get("iss") != self.team_id:
            return info, "InvalidProviderToken"
        iat = claims.get("iat")
        if not isinstance(iat, int) or iat > time.time() + 60:
            return info, "InvalidProviderToken"
        if iat < time.time() - TOKEN_MAX_AGE:
            return info, "ExpiredProviderToken"
        info["verified"] = True
        return info, None

    def handle(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, str | None, str, dict[str, Any]]:
        """(status, reason, apns-id, record) for one request."""
        path = headers.get(":path", "")
        match = PATH_RE.fullmatch(urlsplit(path).path)
        token = match["token"] if match else ""
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        jwt_info, jwt_problem = self.check_jwt(headers.get("authorization"))
        payload: Any = None
        with contextlib.suppress(ValueError):
            payload = json.loads(body) if body else None
        collapse_id = headers.get("apns-collapse-id")

        status, reason = 200, None
        if headers.get(":method") != "POST":
            status, reason = 405, "MethodNotAllowed"
        elif match is None:
            status, reason = 404, "BadPath"
        elif not token:
            status, reason = 400, "MissingDeviceToken"
        elif jwt_problem:
            status, reason = 403, jwt_problem
        elif "apns-id" in headers and not UUID_RE.fullmatch(headers["apns-id"]):
            status, reason = 400, "BadMessageId"
        elif not headers.get("apns-topic"):
            status, reason = 400, "MissingTopic"
        elif self.topic and headers["apns-topic"] != self.topic:
            status, reason = 400, "TopicDisallowed"
        elif headers.get("apns-push-type") not in PUSH_TYPES:
            status, reason = 400, "InvalidPushType"
        elif collapse_id is not None and len(collapse_id.encode()) > 64:
            status, reason = 400, "BadCollapseId"
        elif headers.get("apns-priority") not in {None, "1", "5", "10"}:
            status, reason = 400, "BadPriority"
        elif not HEX_RE.fullmatch(token):
            status, reason = 400, "BadDeviceToken"
        elif not body:
            status, reason = 400, "PayloadEmpty"
        elif len(body) > MAX_PAYLOAD:
            status, reason = 413, "PayloadTooLarge"
        elif not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            # Not one of Apple's reason strings: Apple's own answer is
            # undocumented; the record says what was wrong.
            status, reason = 400, "BadPayload"
        elif self.scripts[token]:
            scripted = self.scripts[token].popleft()
            status, reason = int(scripted["status"]), scripted.get("reason")

        record = {
            "at": time.time(),
            "token": token,
            "headers": {k: v for k, v in headers.items()},
            "payload": payload,
            "jwt": jwt_info,
            "status": status,
            "reason": reason,
        }
        self.records[token].append(record)
        return status, reason, apns_id, record


class ApnsProtocol(asyncio.Protocol):
    """One client's HTTP/2 connection."""

    def __init__(self, standin: Standin) -> None:
        self.standin = standin
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.initiate_connection()
        self.flush()

    def flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self.flush()
            assert self.transport is not None
            self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = (dict(event.headers), bytearray())  # type: ignore[arg-type]
            elif isinstance(event, DataReceived):
                self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                self.respond(event.stream_id)
            elif isinstance(event, StreamReset):
                self.streams.pop(event.stream_id, None)
            elif isinstance(event, ConnectionTerminated):
                assert self.transport is not None
                self.transport.close()
        self.flush()

    def respond(self, stream_id: int) -> None:
        headers, body = self.streams.pop(stream_id)
        status, reason, apns_id, _ = self.standin.handle(headers, bytes(body))
        response = [(":status", str(status)), ("apns-id", apns_id)]
        if status == 200:
            self.conn.send_headers(stream_id, response, end_stream=True)
            return
        error: dict[str, Any] = {"reason": reason or "InternalServerError"}
        if status == 410:
            error["timestamp"] = int(time.time() * 1000)
        data = json.dumps(error).encode()
        response += [("content-type", "application/json"), ("content-length", str(len(data)))]
        self.conn.send_headers(stream_id, response)
        self.conn.send_data(stream_id, data, end_stream=True)


async def control(
    standin: Standin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """The tests' HTTP/1.1 JSON port (one request per connection)."""
    try:
        request_line = (await reader.readline()).decode()
        method, target, _ = request_line.split(" ", 2)
        length = 0
        while (line := (await reader.readline()).decode().strip()) != "":
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        status = 200
        answer: dict[str, Any] = {"ok": True}
        if method == "GET" and url.path == "/healthz":
            pass
        elif method == "GET" and url.path == "/requests":
            answer = {"requests": standin.records.get(query.get("token", ""), [])}
        elif method == "POST" and url.path == "/script":
            spec = json.loads(body)
            standin.scripts[spec["token"]].extend(spec["responses"])
        else:
            status, answer = 404, {"error": "not found"}
        data = json.dumps(answer).encode()
        writer.write(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
    except (ValueError, KeyError, asyncio.IncompleteReadError) as e:
        data = json.dumps({"error": str(e)}).encode()
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
    finally:
        writer.close()


def make_keys(directory: Path) -> None:
    """A test APNs auth key (.p8, as Apple issues them) and a CA + server certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM

    def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    # The provider key: a P-256 key in PKCS#8, which is what a .p8 file is.
    auth_key = ec.generate_private_key(ec.SECP256R1())
    (directory / "key.p8").write_bytes(private_pem(auth_key))
    (directory / "key.pub.pem").write_bytes(
        auth_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "photoshare test APNs CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(server.public_bytes(pem))
    (directory / "server.key").write_bytes(private_pem(server_key))


async def serve(args: argparse.Namespace, public_key: str) -> None:
    standin = Standin(
        public_key=public_key,
        key_id=args.key_id,
        team_id=args.team_id,
        topic=args.topic,
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(args.cert, args.keyfile)
    tls.set_alpn_protocols(["h2"])
    loop = asyncio.get_running_loop()
    apns = await loop.create_server(lambda: ApnsProtocol(standin), args.host, args.port, ssl=tls)
    ctl = await asyncio.start_server(
        lambda r, w: control(standin, r, w), args.host, args.control_port
    )
    print(
        f"APNs stand-in on https://{args.host}:{args.port}, control on "
        f"http://{args.host}:{args.control_port}",
        file=sys.stderr,
        flush=True,
    )
    async with apns, ctl:
        await asyncio.gather(apns.serve_forever(), ctl.serve_forever())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--make-keys", metavar="DIR", help="write test keys to DIR and exit")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--control-port", type=int)
    parser.add_argument("--key-pub", help="public key (PEM) of the provider .p8 key")
    parser.add_argument("--cert", help="TLS certificate chain (PEM)")
    parser.add_argument("--keyfile", help="TLS private key (PEM)")
    parser.add_argument("--key-id", default="", help="expected JWT `kid` (any when empty)")
    parser.add_argument("--team-id", default="", help="expected JWT `iss` (any when empty)")
    parser.add_argument("--topic", default="", help="expected apns-topic (any when empty)")
    args = parser.parse_args()
    if args.make_keys:
        make_keys(Path(args.make_keys))
        return
    missing = [
        f"--{n.replace('_', '-')}"
        for n in ("port", "control_port", "key_pub", "cert", "keyfile")
        if getattr(args, n) is None
    ]
    if missing:
        parser.error(f"missing {', '.join(missing)}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args, Path(args.key_pub).read_text()))


if __name__ == "__main__":
    main()
