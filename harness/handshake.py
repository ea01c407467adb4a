"""Prove transport certificates with real TLS stacks: OpenSSL (Python `ssl`) and the JDK's JSSE.

Both stacks mirror Elasticsearch's transport with ``client_authentication: required``:

* the server demands a client certificate and verifies it against its own CA bundle (OpenSSL with
  the ``sslclient`` purpose, JSSE with the PKIX trust manager and its EndEntityChecker, which is
  where "Extended key usage does not permit use for TLS client authentication" comes from);
* the client verifies the server chain against its CA bundle and, with ``verify_hostname``
  (Elasticsearch ``verification_mode: full``), checks ``server_name`` against the server's SANs
  although it connects to 127.0.0.1 — SNI + ``check_hostname`` in OpenSSL, SNI + endpoint
  identification "HTTPS" in JSSE;
* TLS 1.3 and 1.2 are both enabled, as Elasticsearch defaults.

With TLS 1.3 the client's handshake completes before the server has judged the client
certificate, so each side exchanges a few bytes after the handshake; every failure is then seen
on both sides, and each side's real exception text is recorded.

Everything runs on loopback with ephemeral ports and bounded timeouts. The JSSE side is one Java
source file (``harness/java/TransportHandshake.java``), compiled once per source hash into a cache
directory and run as ONE JVM per batch of pairs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote_plus

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

__all__ = [
    "HandshakePair",
    "HandshakeResult",
    "Identity",
    "IdentityError",
    "JavaCompileError",
    "JavaHarnessError",
    "PemIdentity",
    "Pkcs12Identity",
    "compile_java_harness",
    "jdk_available",
    "jsse_handshakes",
    "openssl_handshake",
    "openssl_handshakes",
    "openssl_server_auth_handshake",
]

JAVA_SOURCE = Path(__file__).with_name("java") / "TransportHandshake.java"
_JAVA_MAIN = "TransportHandshake"
# Elasticsearch's default `supported_protocols` on a JDK that has TLS 1.3.
DEFAULT_PROTOCOLS: tuple[str, ...] = ("TLSv1.3", "TLSv1.2")
_PING = b"ping"
_PONG = b"pong"
# After a failure each side half-closes and drains at most this long (see _linger).
_LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class PemIdentity:
    """A node's material as Elasticsearch reads the PEM settings.

    ``certificate``: PEM, leaf first (a chain is allowed). ``key``: PEM private key, PKCS#1
    ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") or PKCS#8, unencrypted.
    ``certificate_authorities``: PEM bundle of every CA this node trusts (one or many certs).
    """

    certificate: Path
    key: Path
    certificate_authorities: Path


@dataclass(frozen=True)
class Pkcs12Identity:
    """A node's material as Elasticsearch reads ``keystore.path`` / ``truststore.path``.

    The key entry is protected with the keystore password (Elasticsearch's ``key_password``
    defaults to it). The truststore must hold trusted-certificate entries, which is what JSSE
    reads from a PKCS#12 (for example ``cryptography``'s ``pkcs12.serialize_java_truststore`` or
    ``keytool -importcert``).
    """

    keystore: Path
    keystore_password: str
    truststore: Path
    truststore_password: str


Identity = PemIdentity | Pkcs12Identity


@dataclass(frozen=True)
class HandshakePair:
    """One mutual-TLS connection: ``client`` connects to ``server`` on 127.0.0.1."""

    server: Identity
    client: Identity
    server_name: str
    """DNS name (or IP) the client verifies in the server certificate; also sent as SNI."""
    verify_hostname: bool = True
    """True = Elasticsearch ``verification_mode: full``; False = ``certificate``."""
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    """Enabled on both sides, like Elasticsearch ``supported_protocols`` ("TLSv1.3", "TLSv1.2")."""


@dataclass(frozen=True)
class HandshakeResult:
    ok: bool
    server_error: str
    """Real error text seen by the server side ('' if none)."""
    client_error: str
    """Real error text seen by the client side ('' if none)."""
    protocol: str = ""
    """Negotiated protocol, e.g. "TLSv1.3", when ok."""

    @property
    def error(self) -> str:
        """Both sides' errors in one string, for assertion messages and ``match=``."""
        parts = []
        if self.server_error:
            parts.append(f"server: {self.server_error}")
        if self.client_error:
            parts.append(f"client: {self.client_error}")
        return "; ".join(parts)


class IdentityError(ValueError):
    """An identity cannot be loaded at all: a broken input, not a handshake outcome."""


class JavaHarnessError(RuntimeError):
    """The JVM could not run the batch (crash, timeout, garbled output)."""


class JavaCompileError(JavaHarnessError):
    """``javac`` rejected harness/java/TransportHandshake.java."""


# --------------------------------------------------------------------------------------------
# OpenSSL (Python ssl)
# --------------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _tls_version(name: str) -> ssl.TLSVersion:
    try:
        return {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}[name]
    except KeyError:
        raise ValueError(f"unsupported protocol {name!r}; use 'TLSv1.3' and/or 'TLSv1.2'") from None


def _pem_files(identity: Identity, workdir: Path) -> tuple[Path, Path, Path]:
    """(certificate chain, key, CA bundle) PEM files that OpenSSL can load for ``identity``.

    PKCS#12 material is converted to PEM so the OpenSSL stack can vouch for the same certificates;
    Elasticsearch itself reads PKCS#12 only through JSSE.
    """
    if isinstance(identity, PemIdentity):
        return identity.certificate, identity.key, identity.certificate_authorities
    try:
        store = pkcs12.load_pkcs12(
            identity.keystore.read_bytes(), identity.keystore_password.encode()
        )
        trust = pkcs12.load_pkcs12(
            identity.truststore.read_bytes(), identity.truststore_password.encode()
        )
    except ValueError as exc:  # wrong password or not PKCS#12
        raise IdentityError(f"cannot read {identity}: {exc}") from exc
    if store.key is None or store.cert is None:
        raise IdentityError(f"{identity.keystore} holds no private key entry")
    cas = [c.certificate for c in ([trust.cert] if trust.cert else []) + trust.additional_certs]
    if not cas:
        raise IdentityError(f"{identity.truststore} holds no certificates")
    pem = serialization.Encoding.PEM
    cert_path, key_path, ca_path = (workdir / n for n in ("chain.pem", "key.pem", "ca.pem"))
    chain = [store.cert.certificate] + [c.certificate for c in store.additional_certs]
    cert_path.write_bytes(b"".join(c.public_bytes(pem) for c in chain))
    key_path.write_bytes(
        store.key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ca_path.write_bytes(b"".join(c.public_bytes(pem) for c in cas))
    return cert_path, key_path, ca_path


def _openssl_context(
    identity: Identity, *, server_side: bool, pair: HandshakePair, workdir: Path
) -> ssl.SSLContext:
    cert, key, cas = _pem_files(identity, workdir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    versions = sorted(_tls_version(p) for p in pair.protocols)
    ctx.minimum_version, ctx.maximum_version = versions[0], versions[-1]
    try:
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(cafile=cas)
    except (ssl.SSLError, OSError) as exc:
        side = "server" if server_side else "client"
        raise IdentityError(f"{side} identity {identity}: {_describe(exc)}") from exc
    # Server: demand and verify the client certificate (OpenSSL then applies the sslclient
    # purpose, i.e. EKU clientAuth). Client: PROTOCOL_TLS_CLIENT already verifies the chain.
    ctx.verify_mode = ssl.CERT_REQUIRED
    if not server_side:
        ctx.check_hostname = pair.verify_hostname
    return ctx


def _recv_exact(sock: ssl.SSLSocket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"peer closed after {data!r}, expected {n} bytes")
        data += chunk
    return data


def _linger(tls: ssl.SSLSocket) -> None:
    """After a failure: half-close and drain until the peer closes, then let the caller close.

    Closing a socket with unread peer data sends an RST, which can overtake our TLS alert; the
    peer would then report "Connection reset" instead of the real reason.
    """
    try:
        tls.settimeout(_LINGER_SECONDS)
        # SSLSocket.shutdown drops the TLS layer, so the reads below are plain socket reads.
        tls.shutdown(socket.SHUT_WR)
        while tls.recv(4096):
            pass
    except OSError:
        pass  # best effort: already closed or reset


def _serve(
    listener: socket.socket, ctx: ssl.SSLContext, timeout: float, out: dict[str, str]
) -> None:
    """Server side: accept one connection, handshake, read ping, answer pong."""
    try:
        conn, _ = listener.accept()
    except OSError as exc:
        out["error"] = _describe(exc)
        return
    conn.settimeout(timeout)
    # As Elasticsearch's transport.tcp.no_delay default: no Nagle/delayed-ACK stalls.
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # do_handshake_on_connect=False: a failing wrap would close the socket at once (see
    # _linger); handshaking explicitly keeps the socket open for the half-close.
    with ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as tls:
        try:
            tls.do_handshake()
            got = _recv_exact(tls, len(_PING))
            if got != _PING:
                raise ConnectionError(f"expected {_PING!r}, got {got!r}")
            tls.sendall(_PONG)
            out["protocol"] = tls.version() or ""
        except Exception as exc:
            out["error"] = _describe(exc)
            _linger(tls)


def _connect(port: int, ctx: ssl.SSLContext, server_name: str, timeout: float) -> str:
    """Client side: connect to 127.0.0.1 verifying ``server_name``; returns the error or ''."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # server_hostname is the SNI and, with check_hostname, the name verified.
            tls = ctx.wrap_socket(raw, server_hostname=server_name, do_handshake_on_connect=False)
            with tls:
                try:
                    tls.do_handshake()
                    tls.sendall(_PING)
                    # With TLS 1.3 the server's verdict on our certificate arrives only now.
                    got = _recv_exact(tls, len(_PONG))
                    if got != _PONG:
                        raise ConnectionError(f"expected {_PONG!r}, got {got!r}")
                except Exception as exc:
                    _linger(tls)
                    return _describe(exc)
    except OSError as exc:
        return _describe(exc)
    return ""


def openssl_handshake(pair: HandshakePair, timeout: float = 10) -> HandshakeResult:
    """One mutual-TLS handshake with OpenSSL on both sides, server in a thread.

    Designed for PEM identities (what OpenSSL reads); PKCS#12 identities are converted to PEM.
    Raises IdentityError if material cannot be loaded (missing file, key not matching the cert).
    """
    with tempfile.TemporaryDirectory(prefix="es-hs-openssl-") as tmp:
        (Path(tmp) / "s").mkdir()
        (Path(tmp) / "c").mkdir()
        server_ctx = _openssl_context(
            pair.server, server_side=True, pair=pair, workdir=Path(tmp) / "s"
        )
        client_ctx = _openssl_context(
            pair.client, server_side=False, pair=pair, workdir=Path(tmp) / "c"
        )
    return _run_openssl(server_ctx, client_ctx, pair.server_name, timeout)


def openssl_server_auth_handshake(
    server: PemIdentity, client_trust: Path, server_name: str, timeout: float = 10
) -> HandshakeResult:
    """HTTPS as a REST client sees it: the server presents its certificate and asks for none;
    the client verifies the chain against `client_trust` (a PEM CA bundle) and `server_name`
    (SNI + hostname check) while connecting to 127.0.0.1. The server's
    ``certificate_authorities`` file plays no part (Elasticsearch's HTTP layer only uses it to
    verify client certificates)."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        server_ctx.load_cert_chain(server.certificate, server.key)
        client_ctx.load_verify_locations(cafile=client_trust)
    except (ssl.SSLError, OSError) as exc:
        raise IdentityError(f"server {server} / trust {client_trust}: {_describe(exc)}") from exc
    server_ctx.verify_mode = ssl.CERT_NONE
    return _run_openssl(server_ctx, client_ctx, server_name, timeout)


def _run_openssl(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_name: str, timeout: float
) -> HandshakeResult:
    """One connection on loopback: the server in a thread, the client here."""
    server: dict[str, str] = {}
    with socket.create_server(("127.0.0.1", 0), backlog=1) as listener:
        listener.settimeout(timeout)
        thread = threading.Thread(
            target=_serve,
            args=(listener, server_ctx, timeout, server),
            name="openssl-handshake-server",
            daemon=True,
        )
        thread.start()
        client_error = _connect(listener.getsockname()[1], client_ctx, server_name, timeout)
        # Every server operation is bounded by `timeout`; accept, handshake, read, linger.
        thread.join(timeout * 3 + _LINGER_SECONDS)
    server_error = server.get("error", "")
    if thread.is_alive():
        server_error = "TimeoutError: server thread did not finish"
    ok = not server_error and not client_error
    return HandshakeResult(ok, server_error, client_error, server.get("protocol", "") if ok else "")


def openssl_handshakes(pairs: Sequence[HandshakePair]) -> list[HandshakeResult]:
    """Each pair in turn; each handshake takes milliseconds, so no parallelism is needed."""
    return [openssl_handshake(p) for p in pairs]


# --------------------------------------------------------------------------------------------
# JSSE (one JVM per batch)
# --------------------------------------------------------------------------------------------


def _jdk_tool(name: str) -> str | None:
    return shutil.which(name)


def jdk_available() -> bool:
    """True when both ``javac`` and ``java`` are on PATH (a JDK 17+ is needed)."""
    return _jdk_tool("javac") is not None and _jdk_tool("java") is not None


def _safe_cache(path: Path) -> bool:
    """A cache dir we may execute from: ours, and nobody else can write into it (shared /tmp)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.getuid()
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and (path / f"{_JAVA_MAIN}.class").is_file()
    )


def compile_java_harness(source: Path = JAVA_SOURCE) -> Path:
    """Class directory for ``source``: compiled with javac once per source sha256, then reused.

    Compiles into a private staging directory and renames it into place, so concurrent pytest
    workers never see a half-written cache. Raises JavaCompileError with javac's output.
    """
    javac = _jdk_tool("javac")
    if javac is None:
        raise JavaHarnessError("javac is not on PATH; install a JDK (17+) to run JSSE handshakes")
    # Keyed by the javac too: another JDK must not reuse (or trip over) these class files.
    digest = hashlib.sha256(
        source.read_bytes() + b"\0" + os.path.realpath(javac).encode()
    ).hexdigest()[:24]
    base = Path(tempfile.gettempdir())
    cache = base / f"es-transport-pki-jsse-{os.getuid()}-{digest}"
    if _safe_cache(cache):
        return cache
    staging = Path(tempfile.mkdtemp(prefix="es-transport-pki-jsse-build-", dir=base))
    try:
        proc = subprocess.run(
            [
                javac,
                # Class files any JDK 17+ `java` runs, even if java and javac differ.
                "--release",
                "17",
                "-encoding",
                "UTF-8",
                "-Xlint:all",
                "-d",
                str(staging),
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if proc.returncode != 0:
            raise JavaCompileError(
                f"javac failed (exit {proc.returncode}) for {source}:\n{proc.stderr}{proc.stdout}"
            )
        # Another process may have renamed its identical build into place first.
        with contextlib.suppress(OSError):
            staging.rename(cache)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if not _safe_cache(cache):
        raise JavaHarnessError(f"compiled classes missing or not safely owned: {cache}")
    return cache


def _pkcs8_copy(key: Path, dest: Path) -> Path:
    """Write ``key`` (PKCS#1, SEC1 or PKCS#8 PEM) as unencrypted PKCS#8 PEM at ``dest``.

    Elasticsearch parses all three PEM key formats itself (libs/ssl-config PemUtils), but the
    JDK's KeyFactory only accepts PKCS#8, so the key is normalised here rather than teaching the
    Java harness ASN.1. The format the node actually ships is still exercised by the OpenSSL stack
    and by this parse.
    """
    try:
        private_key = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(f"cannot read private key {key}: {exc}") from exc
    dest.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    dest.chmod(0o600)
    return dest


def _identity_fields(identity: Identity, workdir: Path, name: str) -> list[str]:
    if isinstance(identity, PemIdentity):
        # Check the chain parses here for a clear Python-side error.
        x509.load_pem_x509_certificates(identity.certificate.read_bytes())
        key = _pkcs8_copy(identity.key, workdir / f"{name}.pkcs8.pem")
        return [
            "pem",
            str(identity.certificate),
            str(key),
            str(identity.certificate_authorities),
            "",
        ]
    return [
        "pkcs12",
        str(identity.keystore),
        identity.keystore_password,
        str(identity.truststore),
        identity.truststore_password,
    ]


def jsse_handshakes(pairs: Sequence[HandshakePair], timeout: float = 120) -> list[HandshakeResult]:
    """Run every pair in ONE JVM (server and client in threads of it); results in input order.

    ``timeout`` bounds the whole batch; each socket operation inside is bounded to 10 s.
    Raises IdentityError when an identity cannot be loaded, JavaHarnessError when the JVM fails.
    """
    if not pairs:
        return []
    java = _jdk_tool("java")
    if java is None:
        raise JavaHarnessError("java is not on PATH; install a JDK (17+) to run JSSE handshakes")
    classes = compile_java_harness()
    per_operation_ms = int(min(10.0, timeout) * 1000)
    with tempfile.TemporaryDirectory(prefix="es-hs-jsse-") as tmp:
        lines = []
        for i, pair in enumerate(pairs):
            for p in pair.protocols:
                _tls_version(p)  # same validation as the OpenSSL side
            fields = [
                pair.server_name,
                "true" if pair.verify_hostname else "false",
                ",".join(pair.protocols),
                *_identity_fields(pair.server, Path(tmp), f"{i}-server"),
                *_identity_fields(pair.client, Path(tmp), f"{i}-client"),
            ]
            lines.append("\t".join(quote(f, safe="") for f in fields))
        try:
            proc = subprocess.run(
                [
                    java,
                    # Short-lived, small heap: the serial GC starts fastest and spares CPUs.
                    "-XX:+UseSerialGC",
                    "-Djava.awt.headless=true",
                    "-cp",
                    str(classes),
                    _JAVA_MAIN,
                    str(per_operation_ms),
                ],
                input="\n".join(lines) + "\n",
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise JavaHarnessError(f"JSSE batch of {len(pairs)} exceeded {timeout}s") from exc
    results: dict[int, HandshakeResult] = {}
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "SETUP":
            index, message = rest.split("\t")
            raise IdentityError(f"pair {index}: {unquote_plus(message)}")
        if kind == "RESULT":
            index, ok, protocol, server_error, client_error = rest.split("\t")
            results[int(index)] = HandshakeResult(
                ok == "true",
                unquote_plus(server_error),
                unquote_plus(client_error),
                unquote_plus(protocol),
            )
    if proc.returncode != 0 or len(results) != len(pairs):
        raise JavaHarnessError(
            f"JVM exited {proc.returncode} with {len(results)}/{len(pairs)} results\n"
            f"stderr:\n{proc.stderr}\nstdout:\n{proc.stdout}"
        )
    return [results[i] for i in range(len(pairs))]
