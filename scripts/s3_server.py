"""The local S3 server: moto's server with S3's request authentication in front.

moto in server mode checks no signatures: anyone may list a bucket, read the
moto API (`/moto-api/`, which can also reset every bucket), and any URL with
a `Signature=` parameter reads a private object, expired or forged. Its IAM
enforcement (INITIAL_NO_AUTH_ACTION_COUNT) only knows keys of IAM users it
made itself, only reads the Authorization header, and answers anonymous or
presigned requests with a 500. See docs/decisions/0012-private-photos.md.

So this WSGI gate decides, as S3 does for a bucket with Block Public Access:
- a request signed with SigV4 by the configured key pair (AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY), in the Authorization header or as a presigned URL
  that has not expired, goes through;
- an anonymous GET or HEAD of one object (`/<bucket>/<key>`, no query) goes
  through, and moto serves it only when the object's ACL is public-read;
- anything else is refused with S3's 403 XML: listing, writes, the moto API.

Signatures are recomputed with botocore's own SigV4 signer (the one the app
signs with). The payload hash of a header-signed request is taken as
declared (S3 would also compare it with the body). `GET /_health` answers
200 for health checks (no bucket can be named `_health`).

    python scripts/s3_server.py -H 127.0.0.1 -p 9100
"""

from __future__ import annotations

import argparse
import hmac
import os
import signal
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)  # S3's RequestTimeTooSkewed
MAX_EXPIRES = 7 * 24 * 3600  # S3's longest presigned URL
HEALTH_PATH = "/_health"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _timestamp(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused("AccessDenied", "X-Amz-Date is not a valid date") from None


def _between(text: str, start: str, end: str) -> str:
    return text.partition(start)[2].partition(end)[0]


class SigV4Gate:
    def __init__(self, app: WSGIApp, *, access_key: str, secret_key: str) -> None:
        self.app = app
        self.access_key = access_key
        self.credentials = Credentials(access_key, secret_key)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        path, _, query = raw.partition("?")
        method = environ["REQUEST_METHOD"].upper()
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"" if method == "HEAD" else b"ok\n"]
        try:
            self.check(environ, method, path, query)
        except Refused as refused:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{refused.code}</Code>"
                f"<Message>{escape(refused.message)}</Message></Error>"
            ).encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
            )
            return [b"" if method == "HEAD" else body]
        return self.app(environ, start_response)

    def check(self, environ: dict[str, Any], method: str, path: str, query: str) -> None:
        """Returns when the request may reach moto; raises Refused otherwise."""
        authorization = environ.get("HTTP_AUTHORIZATION")
        params = dict(parse_qsl(query, keep_blank_values=True))
        if authorization:
            self._check_header_signature(environ, method, path, query, authorization)
        elif "X-Amz-Signature" in params or "Signature" in params:
            self._check_presigned(environ, method, path, query, params)
        elif method in {"GET", "HEAD"} and not query and self._is_object(path):
            return  # anonymous read of one object: moto applies the object's ACL
        else:
            raise Refused("AccessDenied", "Access Denied")

    @staticmethod
    def _is_object(path: str) -> bool:
        bucket, _, key = path.lstrip("/").partition("/")
        return bool(bucket) and bool(key) and not path.startswith("/moto-api")

    def _scope(self, credential: str) -> tuple[str, str]:
        """(region, service) of a Credential=key/date/region/service/aws4_request."""
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise Refused("AuthorizationQueryParametersError", "malformed credential")
        if not hmac.compare_digest(parts[0], self.access_key):
            raise Refused(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        return parts[2], parts[3]

    def _check_header_signature(
        self, environ: dict[str, Any], method: str, path: str, query: str, authorization: str
    ) -> None:
        if not authorization.startswith(ALGORITHM + " "):
            raise Refused("AccessDenied", "only AWS Signature Version 4 is accepted")
        region, service = self._scope(_between(authorization, "Credential=", ","))
        signed = _between(authorization, "SignedHeaders=", ",").split(";")
        signature = authorization.partition("Signature=")[2].strip()
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        if abs(datetime.now(UTC) - _timestamp(amz_date)) > MAX_SKEW:
            raise Refused(
                "RequestTimeTooSkewed",
                "The difference between the request time and the server's time is too large.",
            )
        request = self._request(environ, method, path, query, signed)
        auth = S3SigV4Auth(self.credentials, service, region)
        self._compare(auth, request, amz_date, signature)

    def _check_presigned(
        self, environ: dict[str, Any], method: str, path: str, query: str, params: dict[str, str]
    ) -> None:
        if params.get("X-Amz-Algorithm") != ALGORITHM:
            raise Refused("AccessDenied", "only AWS Signature Version 4 is accepted")
        region, service = self._scope(params.get("X-Amz-Credential", ""))
        amz_date = params.get("X-Amz-Date", "")
        try:
            expires = int(params.get("X-Amz-Expires", ""))
        except ValueError:
            raise Refused("AuthorizationQueryParametersError", "X-Amz-Expires missing") from None
        if not 0 < expires <= MAX_EXPIRES:
            raise Refused("AuthorizationQueryParametersError", "X-Amz-Expires out of range")
        signed_at = _timestamp(amz_date)
        now = datetime.now(UTC)
        if now > signed_at + timedelta(seconds=expires):
            raise Refused("AccessDenied", "Request has expired")
        if signed_at - now > MAX_SKEW:
            raise Refused("AccessDenied", "Request is not valid yet")
        # The signature covers the query without itself, as the client built it.
        unsigned_query = "&".join(
            pair for pair in query.split("&") if not pair.startswith("X-Amz-Signature=")
        )
        signed = params.get("X-Amz-SignedHeaders", "host").split(";")
        request = self._request(environ, method, path, unsigned_query, signed)
        auth = S3SigV4QueryAuth(self.credentials, service, region, expires=expires)
        self._compare(auth, request, amz_date, params["X-Amz-Signature"])

    @staticmethod
    def _request(
        environ: dict[str, Any], method: str, path: str, query: str, signed: list[str]
    ) -> AWSRequest:
        headers = {}
        for name in signed:
            if name == "host":
                headers["host"] = environ.get("HTTP_HOST", "")
            elif name == "content-type":
                headers[name] = environ.get("CONTENT_TYPE", "")
            elif name == "content-length":
                headers[name] = environ.get("CONTENT_LENGTH", "")
            else:
                headers[name] = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
        url = f"http://{environ.get('HTTP_HOST', '')}{path}" + (f"?{query}" if query else "")
        return AWSRequest(method=method, url=url, headers=headers)

    @staticmethod
    def _compare(auth: S3SigV4Auth, request: AWSRequest, amz_date: str, signature: str) -> None:
        request.context["timestamp"] = amz_date
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, signature):
            raise Refused(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )


def main(argv: list[str] | None = None) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=9100)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    gate = SigV4Gate(
        DomainDispatcherApplication(create_backend_app),
        access_key=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local-secret"),
    )
    run_simple(args.host, args.port, gate, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
