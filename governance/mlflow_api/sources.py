"""Fetching a model version's source bytes, only from places the operator listed, to check and keep them.

An allow-list, never a deny-list (OWASP SSRF Prevention Cheat Sheet, "allow-list approach"):

- a local path or ``file://`` URI is read only when, with its symlinks and ``..`` resolved, it is a
  regular file under one of ``ARTIFACT_SOURCE_ROOTS`` (none by default, so no local file is read), and
  never inside the service's own folders (code, ``VAR_DIR`` with its keys, the audit store);
- an ``http(s)`` URL is fetched only when it lies under one of ``ARTIFACT_SOURCE_URLS`` (same scheme,
  host and port, and a path under the listed one), carries no user info and no ``..`` segment.
  Its host is resolved once and the connection goes to that address, so a name cannot be rebound
  between the check and the fetch; a loopback, private, link-local (the cloud metadata service) or
  otherwise non-public address is refused unless the listed URL names that very address. No redirect
  is ever followed (a listed server could otherwise send us anywhere) and at most
  ``ARTIFACT_SOURCE_MAX_BYTES`` are read.

Any other source (``s3://``, ``runs:/``, a path outside the roots, an unlisted host) is not fetched:
the caller records it as sent, unverified, and such a version is never deployable. A source that is
listed but cannot be fetched as asked (a redirect, an error status, too large, gone) is refused with
the reason, so the client learns what to fix rather than getting a silently unverified version.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, cast
from urllib.parse import SplitResult, unquote, urlsplit

from django.conf import settings

from governance.core.errors import ValidationFailed

FETCH_TIMEOUT_SECONDS: Final = 10
CHUNK_SIZE: Final = 1024 * 1024
DEFAULT_PORTS: Final = {"http": 80, "https": 443}

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class SourceRefused(ValidationFailed):
    """A listed source that cannot be fetched as asked (redirect, error status, too large, gone)."""


# --- Local files ------------------------------------------------------------------------------------------


def _local_path(source: str) -> Path | None:
    parsed = urlsplit(source)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and source.startswith("/"):
        return Path(source)
    return None


def _own_dirs() -> list[Path]:
    own = (settings.BASE_DIR, settings.VAR_DIR, settings.AUDIT_STORE_DIR)
    return [Path(directory).resolve() for directory in own]


def _allowed_file(path: Path) -> Path | None:
    """The resolved path when it lies under a listed root and outside the service's own folders."""
    roots = [Path(root).resolve() for root in settings.ARTIFACT_SOURCE_ROOTS]
    if not roots:
        return None
    resolved = path.resolve()  # symlinks and ".." first: the check is on where the bytes really are
    if not any(resolved.is_relative_to(root) for root in roots):
        return None
    if any(resolved.is_relative_to(own) for own in _own_dirs()):
        return None
    return resolved


@contextmanager
def _file_open(source: str, resolved: Path) -> Iterator[IO[bytes]]:
    try:
        # O_NOFOLLOW: a symlink swapped in after the check is not followed; O_NONBLOCK: a FIFO planted
        # under the root cannot hang the request (it is refused below, as not a regular file).
        descriptor = os.open(resolved, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise SourceRefused(f"source: {source} cannot be read ({exc.strerror})") from exc
    opened = os.fstat(descriptor)
    try:
        checked = resolved.stat()
    except OSError:
        checked = None
    if not stat.S_ISREG(opened.st_mode):
        os.close(descriptor)
        raise SourceRefused(f"source: {source} is not a regular file")
    if checked is None or (checked.st_dev, checked.st_ino) != (opened.st_dev, opened.st_ino):
        os.close(descriptor)  # replaced between the check and the open
        raise SourceRefused(f"source: {source} changed while it was being opened; send it again")
    with os.fdopen(descriptor, "rb") as handle:
        yield cast(IO[bytes], _Limited(handle, source))


# --- URLs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Url:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> _Url | None:
        try:
            parts: SplitResult = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
            return None
        return cls(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], parts.path or "/")

    def under(self, prefix: _Url) -> bool:
        if (self.scheme, self.host, self.port) != (prefix.scheme, prefix.host, prefix.port):
            return False
        base = prefix.path if prefix.path.endswith("/") else prefix.path + "/"
        return self.path == prefix.path or self.path.startswith(base)

    def literal_address(self) -> IpAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def _listed_prefix(url: _Url) -> _Url | None:
    segments = unquote(url.path).split("/")
    if ".." in segments or "." in segments:
        return None  # the server might normalise them away, out from under the listed path
    for listed in settings.ARTIFACT_SOURCE_URLS:
        prefix = _Url.parse(listed)
        if prefix is not None and url.under(prefix):
            return prefix
    return None


def _public(address: IpAddress) -> bool:
    # is_global is False for loopback, RFC 1918 and ULA private ranges, link-local (169.254.169.254, the
    # cloud metadata service), CGNAT, unspecified and documentation ranges; multicast is never a server.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _address_for(source: str, url: _Url, prefix: _Url) -> str:
    """The one address to connect to: resolved now and used for the connection (no rebinding)."""
    listed = prefix.literal_address()
    if listed is not None:
        return str(listed)  # the operator named this very address: it may be loopback or private
    try:
        found = socket.getaddrinfo(url.host, url.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SourceRefused(f"source: the host {url.host} of {source} does not resolve") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    refused = sorted({str(address) for address in addresses if not _public(address)})
    if refused or not addresses:
        raise SourceRefused(
            f"source: {url.host} resolves to {', '.join(refused) or 'nothing'}, a loopback, private or "
            "link-local address; list the artifact server by that address in ARTIFACT_SOURCE_URLS "
            "if it is really meant to be fetched"
        )
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=FETCH_TIMEOUT_SECONDS)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), FETCH_TIMEOUT_SECONDS)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=FETCH_TIMEOUT_SECONDS)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), FETCH_TIMEOUT_SECONDS)
        # The certificate is checked against the host name the operator listed, not the address.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


@contextmanager
def _url_open(source: str, url: _Url, prefix: _Url) -> Iterator[IO[bytes]]:
    address = _address_for(source, url, prefix)
    kind = _PinnedHTTPSConnection if url.scheme == "https" else _PinnedHTTPConnection
    connection = kind(url.host, url.port, address)
    query = urlsplit(source).query
    try:
        try:
            connection.request("GET", url.path + (f"?{query}" if query else ""))
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise SourceRefused(f"source: {source} could not be fetched ({exc})") from exc
        if 300 <= response.status < 400:
            raise SourceRefused(
                f"source: {source} answered {response.status} with a redirect to "
                f"{response.getheader('Location', '?')}; redirects are not followed, give the final URL "
                "(under ARTIFACT_SOURCE_URLS)"
            )
        if response.status != 200:
            raise SourceRefused(f"source: {source} answered HTTP {response.status}, not 200")
        length = response.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > settings.ARTIFACT_SOURCE_MAX_BYTES:
            raise _too_large(source)
        yield cast(IO[bytes], _Limited(response, source))
    finally:
        connection.close()


# --- Both -------------------------------------------------------------------------------------------------


def _too_large(source: str) -> SourceRefused:
    return SourceRefused(
        f"source: {source} is larger than ARTIFACT_SOURCE_MAX_BYTES "
        f"({settings.ARTIFACT_SOURCE_MAX_BYTES} bytes)"
    )


class _Limited:
    """A read-only stream that refuses to go past ``ARTIFACT_SOURCE_MAX_BYTES``."""

    def __init__(self, stream: IO[bytes] | http.client.HTTPResponse, source: str) -> None:
        self._stream = stream
        self._source = source
        self._left = settings.ARTIFACT_SOURCE_MAX_BYTES

    def read(self, size: int = CHUNK_SIZE) -> bytes:
        if size < 0:
            size = CHUNK_SIZE
        try:
            chunk = self._stream.read(min(size, self._left + 1))
        except (OSError, http.client.HTTPException) as exc:
            raise SourceRefused(f"source: {self._source} broke off while being read ({exc})") from exc
        self._left -= len(chunk)
        if self._left < 0:
            raise _too_large(self._source)
        return chunk


@contextmanager
def source_open(source: str) -> Iterator[IO[bytes] | None]:
    """The source's bytes as a stream when the source is on the allow-list; None when it is not.

    Raises ``SourceRefused`` for a listed source that cannot be fetched as asked.
    """
    path = _local_path(source)
    if path is not None:
        resolved = _allowed_file(path)
        if resolved is None:
            yield None
            return
        with _file_open(source, resolved) as stream:
            yield stream
        return
    url = _Url.parse(source)
    prefix = _listed_prefix(url) if url is not None else None
    if url is None or prefix is None:
        yield None
        return
    with _url_open(source, url, prefix) as stream:
        yield stream
