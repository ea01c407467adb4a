"""Prove certificates with Go's crypto/x509 and crypto/tls, as ECK's operator, Beats and Elastic
Agent read them.

Those are Go programs, and Go's standard library is stricter than OpenSSL in places: a server
with ``RequireAndVerifyClientCert`` demands EKU clientAuth (or none) on the client certificate,
hostnames are matched against SANs only (no CommonName fallback), certificates are parsed as
strict DER, and keys are read by format (``tls.X509KeyPair``; ECK's own PEM rules for its CA
Secret). The Go side is one stdlib-only file, ``harness/go/tlscheck.go``, built with
``GO111MODULE=off`` (no module proxy needed) by :func:`build_go_oracle` into a directory the
caller owns, and run as ONE process per batch: a JSON request on stdin, one JSON result per
check on stdout, in order.

Checks, each mirroring a Python-side harness (:mod:`harness.handshake`):

* :meth:`GoOracle.handshakes` — mutual TLS on loopback as Elasticsearch's transport with
  ``client_authentication: required`` (``HandshakePair``: the client verifies ``server_name``
  while connecting to 127.0.0.1; TLS 1.3 and 1.2; each side exchanges a few bytes after the
  handshake, so a client certificate refused under TLS 1.3 is seen on both sides);
* :meth:`GoOracle.server_auth_handshakes` — HTTPS as a Go REST client sees it (no client
  certificate);
* :meth:`GoOracle.verify` — ``x509.ParseCertificate`` on every certificate and
  ``Certificate.Verify`` with given roots, DNS name and key usages;
* :meth:`GoOracle.eck_custom_cas` — an ECK custom CA Secret (``ca.crt``, ``ca.key``) read by
  ECK's rules, checked to be a CA allowed to sign, and used to sign a pod certificate.

Every socket operation is bounded (10 s), the whole batch by ``timeout``; each side's real Go
error text is recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.handshake import HandshakePair, HandshakeResult, Identity, IdentityError, PemIdentity

__all__ = [
    "GO_SOURCE",
    "ChainCheck",
    "EckCaResult",
    "GoBuildError",
    "GoHarnessError",
    "GoOracle",
    "ServerAuthCheck",
    "VerifyResult",
    "build_go_oracle",
    "go_available",
]

GO_SOURCE = Path(__file__).with_name("go") / "tlscheck.go"
# Bounds each socket operation inside the Go process, as harness/handshake.py's JSSE side.
_PER_OPERATION_SECONDS = 10.0

KeyUsage = Literal["serverAuth", "clientAuth", "any"]


class GoHarnessError(RuntimeError):
    """The Go process could not run the batch (crash, timeout, garbled output)."""


class GoBuildError(GoHarnessError):
    """``go build`` rejected harness/go/tlscheck.go."""


@dataclass(frozen=True)
class ServerAuthCheck:
    """HTTPS as a Go client sees it: the server presents ``server``'s certificate chain and key
    and asks for no client certificate; the client trusts ``client_trust`` (PEM CA bundle) and
    verifies ``server_name`` (SNI + SAN check) while connecting to 127.0.0.1. The server's
    ``certificate_authorities`` plays no part."""

    server: PemIdentity
    client_trust: Path
    server_name: str


@dataclass(frozen=True)
class ChainCheck:
    """``x509.ParseCertificate`` on every certificate of ``chain_pem`` (leaf first, the rest
    intermediates) and ``roots_pem``, then ``leaf.Verify`` against those roots."""

    chain_pem: str
    roots_pem: str
    dns_name: str = ""
    """Checked against the leaf's SANs when set, as crypto/tls does for ``ServerName``."""
    key_usages: tuple[KeyUsage, ...] = ("serverAuth",)
    """Go's ``VerifyOptions.KeyUsages``: the chain must allow ANY of them (so check two uses
    that must both hold as two checks)."""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    error: str
    """Go's error text ('' if ok), e.g. "x509: certificate specifies an incompatible key usage"."""


@dataclass(frozen=True)
class EckCaResult:
    ok: bool
    error: str
    """Why ECK (or the CA checks ECK leaves out) would refuse the Secret; '' if ok."""
    key_type: str
    """What Go parsed ``ca.key`` as: "ecdsa-P-256", "ecdsa-P-384", "rsa-2048", ...; '' if not."""
    is_ca: bool
    cert_sign: bool
    signed_and_verified: bool
    """A pod certificate signed with the parsed key verified against ``ca.crt``."""


def go_available() -> bool:
    """True when ``go`` is on PATH (Debian: golang-go)."""
    return shutil.which("go") is not None


def build_go_oracle(directory: Path, source: Path = GO_SOURCE) -> GoOracle:
    """Build ``source`` in ``directory`` (created by the caller, e.g. a session temp dir).

    Standard library only, GOPATH mode: nothing is fetched, and GOCACHE/GOPATH stay inside
    ``directory`` so a build leaves nothing in the user's home. Raises GoBuildError with go's
    output.
    """
    go = shutil.which("go")
    if go is None:
        raise GoHarnessError("go is not on PATH; install Go (Debian: golang-go)")
    shutil.copy(source, directory / source.name)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOCACHE": str(directory / "cache"),
        "GOPATH": str(directory / "gopath"),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
    }
    binary = directory / "tlscheck"
    try:
        proc = subprocess.run(
            [go, "build", "-o", str(binary), source.name],
            cwd=directory, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GoBuildError(f"go build of {source} exceeded 300s") from exc
    if proc.returncode != 0:
        raise GoBuildError(
            f"go build failed (exit {proc.returncode}) for {source}:\n{proc.stderr}{proc.stdout}"
        )
    return GoOracle(binary)


def _pem_identity(identity: Identity, side: str) -> dict[str, str]:
    if not isinstance(identity, PemIdentity):
        raise IdentityError(f"{side} {identity}: the Go harness reads PEM identities only")
    try:
        return {
            "certificate": identity.certificate.read_text(),
            "key": identity.key.read_text(),
            "trusted": identity.certificate_authorities.read_text(),
        }
    except OSError as exc:
        raise IdentityError(f"{side} identity {identity}: {exc}") from exc


def _handshake_result(raw: Mapping[str, Any], index: int) -> HandshakeResult:
    if raw.get("setupError"):
        raise IdentityError(f"check {index}: {raw['setupError']}")
    return HandshakeResult(
        bool(raw["ok"]), raw.get("serverError", ""), raw.get("clientError", ""),
        raw.get("protocol", ""),
    )


@dataclass(frozen=True)
class GoOracle:
    """The built ``tlscheck`` binary; each method runs it once for its whole batch."""

    binary: Path

    def _run(self, checks: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
        if not checks:
            return []
        request = {
            "timeoutMillis": int(min(_PER_OPERATION_SECONDS, timeout) * 1000),
            "checks": checks,
        }
        try:
            proc = subprocess.run(
                [str(self.binary)], input=json.dumps(request), capture_output=True, text=True,
                encoding="utf-8", timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GoHarnessError(f"Go batch of {len(checks)} exceeded {timeout}s") from exc
        try:
            results = json.loads(proc.stdout)["results"] if proc.returncode == 0 else None
        except (ValueError, KeyError, TypeError):
            results = None
        if not isinstance(results, list) or len(results) != len(checks):
            raise GoHarnessError(
                f"tlscheck exited {proc.returncode} for {len(checks)} checks\n"
                f"stderr:\n{proc.stderr}\nstdout:\n{proc.stdout[:2000]}"
            )
        return results

    def handshakes(
        self, pairs: Sequence[HandshakePair], timeout: float = 120
    ) -> list[HandshakeResult]:
        """Each pair as Elasticsearch's transport in Go: the server has ``ClientAuth:
        RequireAndVerifyClientCert`` with ``ClientCAs`` = its CA bundle, the client ``RootCAs`` =
        its bundle and ``ServerName`` = ``pair.server_name`` (checked unless
        ``verify_hostname`` is False). Results in input order."""
        checks = [
            {
                "kind": "handshake",
                "server": _pem_identity(pair.server, "server"),
                "client": _pem_identity(pair.client, "client"),
                "serverName": pair.server_name,
                "verifyHostname": pair.verify_hostname,
                "protocols": list(pair.protocols),
            }
            for pair in pairs
        ]
        raw = self._run(checks, timeout)
        return [_handshake_result(r, i) for i, r in enumerate(raw)]

    def server_auth_handshakes(
        self, checks: Sequence[ServerAuthCheck], timeout: float = 120
    ) -> list[HandshakeResult]:
        """HTTPS as a Go client (Beats, Agent, ECK's own Elasticsearch client) sees it."""
        requests = []
        for check in checks:
            server = _pem_identity(check.server, "server")
            try:
                trust = check.client_trust.read_text()
            except OSError as exc:
                raise IdentityError(f"client trust {check.client_trust}: {exc}") from exc
            requests.append({
                "kind": "handshake",
                # No trusted CAs on the server: it asks for no client certificate.
                "server": {**server, "trusted": ""},
                "client": {"certificate": "", "key": "", "trusted": trust},
                "serverName": check.server_name,
                "verifyHostname": True,
                "protocols": ["TLSv1.3", "TLSv1.2"],
            })
        raw = self._run(requests, timeout)
        return [_handshake_result(r, i) for i, r in enumerate(raw)]

    def verify(self, checks: Sequence[ChainCheck], timeout: float = 120) -> list[VerifyResult]:
        """Parse and verify each chain; a certificate Go cannot parse is a failed result."""
        raw = self._run(
            [
                {
                    "kind": "verify",
                    "chain": check.chain_pem,
                    "roots": check.roots_pem,
                    "dnsName": check.dns_name,
                    "keyUsages": list(check.key_usages),
                }
                for check in checks
            ],
            timeout,
        )
        for index, result in enumerate(raw):
            if result.get("setupError"):
                raise ValueError(f"check {index}: {result['setupError']}")
        return [VerifyResult(bool(r["ok"]), r.get("error", "")) for r in raw]

    def eck_custom_cas(
        self, secrets: Sequence[Mapping[str, bytes]], timeout: float = 120
    ) -> list[EckCaResult]:
        """Each Secret's decoded ``data`` (``ca.crt``, ``ca.key``) as ECK reads a custom CA."""
        checks = []
        for data in secrets:
            missing = {"ca.crt", "ca.key"} - set(data)
            if missing:
                raise ValueError(f"the Secret has no {sorted(missing)}")
            checks.append({
                "kind": "eckCa",
                "caCrt": data["ca.crt"].decode(),
                "caKey": data["ca.key"].decode(),
            })
        return [
            EckCaResult(
                ok=bool(r["ok"]),
                error=r.get("error", ""),
                key_type=r.get("keyType", ""),
                is_ca=bool(r.get("isCA", False)),
                cert_sign=bool(r.get("certSign", False)),
                signed_and_verified=bool(r.get("signedAndVerified", False)),
            )
            for r in self._run(checks, timeout)
        ]
