"""Which addresses a node certificate's names cover, as a peer with `verification_mode: full`
checks them (INV-LEAF: "SANs cover every DNS name and IP the node is reached by").

Elasticsearch's transport client (SecurityNetty4Transport's ClientSslHandlerInitializer)
creates its SSLEngine with the host string of the address it connects to, and SSLService turns
on JSSE's "HTTPS" endpoint identification for `full`. The address is the peer's publish
address (TcpTransport: `transport.profiles.default.publish_host`, else
`transport.publish_host`, else `transport.host`, else `network.publish_host`, else
`network.host`), whose host string is the name as written, or the IP address when an IP (or a
special value, resolved to an interface's address) was written.
JSSE's HostnameChecker (checked with real handshakes, harness/handshake.py):
* an IP address matches IP SANs only, by value; without SANs: "No subject alternative names
  present"; the subject CN never counts;
* a DNS name matches DNS SANs case-insensitively, label by label (as many labels), `*`
  standing for any run of characters within one label, in any label (`es*.example`,
  `a.*.example`), but never `*` alone nor a template without a dot after its last `*`; only
  when the certificate has no DNS SAN at all is the subject CN matched the same way.
Where this reading could differ from JSSE's, a name counts as covered: the checks built on it
report only what JSSE refuses.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from .values import contains_unknown, path

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class CertNames:
    """The names a certificate is verified by: its DNS and IP SANs, and its subject CNs."""

    dns: tuple[str, ...]
    ips: frozenset[IpAddress]
    common_names: tuple[str, ...]


@dataclass(frozen=True)
class Address:
    """An address a node is reached by, as written (`text`): a DNS name (`name`, lower case),
    an IP address (`ip`), or neither: some IP address of the node's own interfaces (a special
    value such as `_site_`, or `0.0.0.0`), not known which."""

    text: str
    ip: IpAddress | None = None
    name: str | None = None


# NetworkService's own special values (case-sensitive); other `_name_` values may be a
# plugin's resolver (`_ec2:privateDns_` gives a DNS name) and are not read.
_INTERFACES = re.compile(r"_(local|site|global)(:ipv[46])?_")
_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*", re.IGNORECASE)


def address(text: Any) -> Address | None:
    """The address a host setting's entry reaches the node by; None for one not read here
    (not text, `${VAR}`, a plugin's special value, a scoped or multicast IP, a name that is
    no plain ASCII host name: JSSE refuses some of those outright)."""
    if not isinstance(text, str):
        return None
    if _INTERFACES.fullmatch(text):
        return Address(text)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.is_multicast or getattr(ip, "scope_id", None):
            return None
        return Address(text) if ip.is_unspecified else Address(text, ip=_canonical(ip))
    if _HOST_NAME.fullmatch(text) and not text.rsplit(".", 1)[-1].isdigit():
        return Address(text, name=text.lower())
    return None


def _canonical(ip: IpAddress) -> IpAddress:
    """Java reads an IPv4-mapped IPv6 address as the IPv4 address (and so does JSSE)."""
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped or ip


def covers(names: CertNames, reached: Address) -> bool:
    if reached.name is not None:
        return any(_dns_matches(reached.name, t) for t in names.dns or names.common_names)
    if reached.ip is not None:
        return reached.ip in names.ips
    return bool(names.ips)  # some interface's IP: covered by none when there is no IP SAN


def _dns_matches(name: str, template: str) -> bool:
    template = template.lower()
    if not template.isascii() or "xn--" in template or "xn--" in name:
        return True  # JSSE compares IDNs in Unicode form: not read here, so never reported
    if "*" in template and (template in ("*", "*.")
                            or "." not in template[template.rindex("*"):]):
        return False
    labels, patterns = name.split("."), template.split(".")
    return len(labels) == len(patterns) and all(
        _label_pattern(p).fullmatch(label) is not None for label, p in zip(labels, patterns,
                                                                          strict=True)
    )


@lru_cache(maxsize=4096)
def _label_pattern(template_label: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, template_label.split("*"))))


def input_names(props: dict[str, Any]) -> CertNames | None:
    """The names pulumi-tls puts into a certificate from `dnsNames`, `ipAddresses` and
    `subject.commonName` (a CertRequest's, or a SelfSignedCert's own inputs); None while one
    is unknown, or is of a shape pulumi-tls refuses."""
    dns, ips, subject = props.get("dnsNames"), props.get("ipAddresses"), props.get("subject")
    if contains_unknown([dns, ips, subject]):
        return None
    common_name = path(subject, "commonName") if isinstance(subject, dict) else None
    texts = [dns or [], ips or [], [] if common_name is None else [common_name]]
    if (subject is not None and not isinstance(subject, dict)) or not all(
        isinstance(v, list) and all(isinstance(t, str) for t in v) for v in texts
    ):
        return None
    try:
        parsed = frozenset(_canonical(ipaddress.ip_address(ip)) for ip in texts[1])
    except ValueError:
        return None  # pulumi-tls refuses it
    return CertNames(tuple(texts[0]), parsed, tuple(texts[2]))


def certificate_names(cert: x509.Certificate | x509.CertificateSigningRequest,
                      ) -> CertNames | None:
    """The names of a parsed certificate (or of a request, whose names pulumi-tls copies);
    None when its SAN extension or subject does not read."""
    try:
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = x509.SubjectAlternativeName([])
        common_names = tuple(str(a.value) for a in
                             cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    except (ValueError, x509.DuplicateExtension):
        return None
    ips = frozenset(_canonical(ip) for ip in san.get_values_for_type(x509.IPAddress)
                    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address))
    return CertNames(tuple(san.get_values_for_type(x509.DNSName)), ips, common_names)
