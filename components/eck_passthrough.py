"""Checks on the Elasticsearch-resource fields users pass through (`eck.spec`, per-nodeSet
`config`/`podTemplate`/...): they may add anything except what this project owns.

Transport TLS is wired by `components.eck_manifests`; ECK owns `enabled`/`verification_mode`;
`client_authentication` comes from `transport.clientAuthentication` with its waiver rules.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from components import eck_layout, transport_settings
from components.config_reader import Problems, join, join_name, type_name
from components.model_eck import NodeSetSpec
from components.quoting import quoted

NODESET_MAPS = frozenset({"config", "podTemplate", "resources", "zoneAwareness"})
NODESET_LISTS = frozenset({"volumeClaimTemplates"})
NODESET_PASSTHROUGH = NODESET_MAPS | NODESET_LISTS

_SPEC_OWNED = {
    "version": "is set from eck.version; move it there",
    "nodeSets": "is built from eck.nodeSets (name, count, config, podTemplate, ...); move it there",
}
_TLS_OWNED = {
    "certificate": "is set from eck.certificates; remove it",
    "selfSignedCertificates": "is set from eck.certificates; remove it",
    "certificateAuthorities": (
        "names the ConfigMap with this cluster's dedicated CA; remove it (another CA there "
        "would let its holders join the cluster, INV-CA-DEDICATED)"
    ),
    "subjectAltNames": "is set from eck.extraDns and eck.extraIps; move the names there",
}
_SSL_GROUP = transport_settings.PREFIX.rstrip(".")
_SECURITY_ENABLED = "xpack.security.enabled"
_HTTP_SSL_PREFIX = "xpack.security.http.ssl."
# Elasticsearch reads every transport SSL setting per named profile too (each on its own port),
# falling back to xpack.security.transport.ssl.* for what a profile does not set.
_PROFILE_SSL = re.compile(r"^transport\.profiles\.([^.]+)\.xpack\.security\.ssl\.(.+)$")
_DEFAULT_PROFILE = "default"
_PROFILE_CREDENTIALS = frozenset(
    setting.removeprefix(transport_settings.PREFIX)
    for setting in (
        transport_settings.KEY, transport_settings.CERTIFICATE,
        transport_settings.CERTIFICATE_AUTHORITIES,
    )
)
_PROFILE_STORES = ("keystore.", "truststore.")


def check_spec(spec: Mapping[str, Any], key: str, problems: Problems) -> None:
    """`eck.spec`: any Elasticsearch `spec` field except the ones built from our keys."""
    for name, message in _SPEC_OWNED.items():
        if name in spec:
            problems.add(join(key, name), message)
    # ECK copies every key of a secureSettings Secret into each pod's elasticsearch-keystore.
    for index, source in enumerate(_items(spec.get("secureSettings"))):
        if isinstance(source.get("secretName"), str):
            _check_secret(source["secretName"], join(join(key, "secureSettings"), index), problems,
                          verb="copies", into="into every pod's keystore", remove="the entry")
    transport = spec.get("transport")
    if transport is None:
        return
    if not isinstance(transport, Mapping):
        problems.add(join(key, "transport"), f"must be a map, got {type_name(transport)}")
        return
    tls = transport.get("tls")
    tls_key = join(join(key, "transport"), "tls")
    if tls is not None and not isinstance(tls, Mapping):
        problems.add(tls_key, f"must be a map, got {type_name(tls)}")
        return
    for name, message in _TLS_OWNED.items():
        if tls and name in tls:
            problems.add(join(tls_key, name), message)


def remote_cluster_warnings(cluster: str, spec: Mapping[str, Any]) -> list[str]:
    """Certificate-based remote clusters (`eck.spec.remoteClusters[]` without `apiKey`): ECK
    mounts every remote cluster's transport CA at `config/transport-remote-certs/ca.crt`, which
    the transport layer trusts beside the cluster's own CA, and the remote side trusts this
    cluster's CA the same way (INV-CA-DEDICATED). Warned, not refused: cross-cluster search and
    replication need it in that model, and deployed stacks may rely on it."""
    found: list[str] = []
    remotes = spec.get("remoteClusters")
    for index, remote in enumerate(remotes if isinstance(remotes, list) else []):
        if not isinstance(remote, Mapping) or remote.get("apiKey") is not None:
            continue
        found.append(
            f"cluster {cluster}: eck.spec.remoteClusters[{index}] "
            f"({quoted(remote.get('name'))}) uses certificate-based remote cluster access: ECK "
            "adds that cluster's transport CA to this cluster's transport trust "
            "(config/transport-remote-certs/ca.crt), and this cluster's to its, so its nodes, "
            "and anyone holding a certificate from its CA, can open transport connections here "
            "and call internal APIs (INV-CA-DEDICATED). Prefer API-key access: give the entry an "
            "apiKey and enable remoteClusterServer on the remote cluster"
        )
    return found


def check_node_set(node_set: Mapping[str, Any], key: str, problems: Problems) -> None:
    """The passthrough fields of one `eck.nodeSets[i]`."""
    for name in sorted(NODESET_PASSTHROUGH & set(node_set)):
        value = node_set[name]
        wanted = (list, "a list") if name in NODESET_LISTS else (Mapping, "a map")
        if not isinstance(value, wanted[0]):
            problems.add(join(key, name), f"must be {wanted[1]}, got {type_name(value)}")
    config = node_set.get("config")
    if isinstance(config, Mapping):
        _check_settings(config, join(key, "config"), problems)
    template = node_set.get("podTemplate")
    if isinstance(template, Mapping):
        _check_pod_template(template, join(key, "podTemplate"), problems)


def _check_settings(config: Mapping[str, Any], key: str, problems: Problems) -> None:
    for setting, path, value in _flatten(config, key):
        _check_setting(setting, path, value, problems)


def _judged(setting: str) -> bool:
    """Whether `_check_setting` reads this setting's value."""
    return (
        setting in (_SECURITY_ENABLED, _SSL_GROUP)
        or setting.startswith((_HTTP_SSL_PREFIX, transport_settings.PREFIX))
        or _PROFILE_SSL.match(setting) is not None
    )


def _check_setting(setting: str, path: str, value: object, problems: Problems) -> None:
    """One Elasticsearch setting a nodeSet gives (in `config` or its container's env)."""
    if setting == _SECURITY_ENABLED and str(value).lower() == "false":
        problems.add(path, "turns off security and with it transport TLS (INV-MTLS); remove it")
    if setting.startswith(_HTTP_SSL_PREFIX) and (directory := _transport_directory(value)):
        problems.add(
            path,
            f"points HTTP TLS at the transport certificates ({directory}): HTTP and "
            "transport must not share a certificate, key or CA (INV-SEPARATE); use "
            "http.mode generated or provided",
        )
    profile = _PROFILE_SSL.match(setting)
    if profile:
        _check_profile_setting(profile[1], profile[2], value, path, problems)
        return
    if setting != _SSL_GROUP and not setting.startswith(transport_settings.PREFIX):
        return
    if setting in transport_settings.ECK_OWNED:
        problems.add(
            path,
            "is owned by ECK (it sets enabled: true and verification_mode: certificate) "
            "and reserved for internal use; remove it",
        )
    elif setting == transport_settings.CLIENT_AUTHENTICATION:
        weak = str(value).lower() != "required"
        problems.add(
            path,
            (f"{quoted(value)} weakens mutual TLS (INV-MTLS); remove it. " if weak else "")
            + "It is rendered from transport.clientAuthentication ('required'; 'optional'/"
            "'none' only with transport.waiver)",
        )
    else:
        problems.add(
            path,
            "is set by es-transport-pki (transport certificates and trust come from "
            "eck.certificates); remove it",
        )


def _transport_directory(value: object) -> str | None:
    """The transport directory (eck_layout.TRANSPORT_PATHS) a path setting's value names a
    file in, or None. Elasticsearch resolves a relative path against its config directory."""
    for text in value if isinstance(value, list) else [value]:
        if not isinstance(text, str):
            continue
        file = _resolved(eck_layout.CONFIG_DIR, text)
        for directory in eck_layout.TRANSPORT_PATHS:
            if file == directory or file.startswith(directory + "/"):
                return directory
    return None


def _resolved(base: str, path: str) -> str:
    """`path` (relative: to `base`) as the container's filesystem reads it."""
    # normpath keeps a leading `//` (POSIX leaves its meaning open); Linux reads it as `/`.
    return "/" + posixpath.normpath(posixpath.join(base, path)).lstrip("/")


def _mounted_over(mount_path: str) -> str | None:
    """The transport directory a container's volume mounted at `mount_path` would replace,
    lie in or hide, or None. The container runtime cleans the path (`a//b/./c` is `a/b/c`) and
    reads a relative one from the root."""
    path = _resolved("/", mount_path)
    for directory in eck_layout.TRANSPORT_PATHS:
        if path == directory or path.startswith(directory + "/") or (
            directory.startswith(path.rstrip("/") + "/")
        ):
            return directory
    return None


def _check_profile_setting(
    profile: str, setting: str, value: object, path: str, problems: Problems
) -> None:
    """`transport.profiles.<profile>.xpack.security.ssl.<setting>`: a profile may narrow
    transport TLS, never weaken it nor trust or present anything but the cluster's own PKI."""
    if profile == _DEFAULT_PROFILE:
        problems.add(
            path,
            "Elasticsearch refuses to start with SSL settings for the default transport profile "
            "(it takes xpack.security.transport.ssl.*, which es-transport-pki sets); remove it",
        )
    elif setting == "client_authentication" and str(value).lower() != "required":
        inherit = ("remove it: profiles inherit transport.clientAuthentication ('required'; "
                   "'optional'/'none' only with transport.waiver)")
        if str(value).lower() in ("optional", "none"):
            problems.add(path, f"{quoted(value)} weakens mutual TLS on transport profile "
                               f"{quoted(profile)} (INV-MTLS); {inherit}")
        else:
            problems.add(path, _unshown_mode(value, profile, "client authentication",
                                             "none, optional, required", "'required'")
                         + inherit)
    elif setting == "verification_mode" and str(value).lower() == "none":
        problems.add(
            path,
            f"'none' turns off certificate verification on transport profile {quoted(profile)}, so "
            "any peer is trusted (INV-VERIFY); remove it (profiles inherit the cluster's mode) "
            "or use 'full' or 'certificate'",
        )
    elif setting == "verification_mode" and str(value).lower() not in ("full", "certificate"):
        problems.add(path, _unshown_mode(value, profile, "verification", "full, certificate, none",
                                         "'full' or 'certificate'")
                     + "remove it (profiles inherit the cluster's mode) or use 'full' or "
                     "'certificate'")
    elif setting in _PROFILE_CREDENTIALS or setting.startswith(_PROFILE_STORES):
        problems.add(
            path,
            f"gives transport profile {quoted(profile)} certificates or trust other than the "
            "cluster's dedicated CA (INV-CA-DEDICATED); remove it: profiles inherit the "
            "transport certificates and trust es-transport-pki sets",
        )


def _unshown_mode(value: object, profile: str, kind: str, modes: str, wanted: str) -> str:
    if "${" in str(value):
        return (f"{quoted(value)} is substituted by Elasticsearch at startup, so nothing here "
                f"can show that transport profile {quoted(profile)} gets {wanted}; ")
    # SslClientAuthenticationMode / SslVerificationMode.parse lower-case the text, never trim it;
    # a YAML boolean or number reaches them as its text.
    return (f"{quoted(value)} is no {kind} mode Elasticsearch parses ({modes}: any case, nothing "
            f"around it), so nodes with transport profile {quoted(profile)} do not start; ")


def _flatten(
    config: Mapping[str, Any], key: str, prefix: str = ""
) -> Iterator[tuple[str, str, object]]:
    """Elasticsearch reads nested and dotted YAML keys alike: yield (setting, stack key, value)."""
    for name, value in config.items():
        setting = f"{prefix}{name}"
        path = join_name(key, str(name))
        if isinstance(value, Mapping):
            yield from _flatten(value, path, f"{setting}.")
        else:
            yield setting, path, value


def _check_pod_template(template: Mapping[str, Any], key: str, problems: Problems) -> None:
    spec = template.get("spec")
    if not isinstance(spec, Mapping):
        return
    spec_key = join(key, "spec")
    for index, volume in enumerate(_items(spec.get("volumes"))):
        volume_key = join(join(spec_key, "volumes"), index)
        if volume.get("name") == eck_layout.CERTS_VOLUME:
            problems.add(
                join(volume_key, "name"),
                f"{eck_layout.CERTS_VOLUME!r} is the volume es-transport-pki mounts; rename it",
            )
        for secret in _volume_secrets(volume):
            _check_secret(secret, volume_key, problems,
                          verb="mounts", into="into every pod", remove="the volume")
    for kind in ("initContainers", "containers"):
        for c_index, container in enumerate(_items(spec.get(kind))):
            _check_environment_secrets(container, join(join(spec_key, kind), c_index), problems)
            mounts_key = join(join(join(spec_key, kind), c_index), "volumeMounts")
            for m_index, mount in enumerate(_items(container.get("volumeMounts"))):
                path = mount.get("mountPath")
                directory = _mounted_over(path) if isinstance(path, str) else None
                if directory or mount.get("name") == eck_layout.CERTS_VOLUME:
                    problems.add(
                        join(mounts_key, m_index),
                        f"{quoted(path)} mounts over {directory or eck_layout.CERTS_MOUNT_PATH}: "
                        f"es-transport-pki mounts the node certificates at "
                        f"{eck_layout.CERTS_MOUNT_PATH} (volume {eck_layout.CERTS_VOLUME!r}) "
                        f"and ECK the transport trust at {eck_layout.ECK_TRANSPORT_CERTS_PATH}; "
                        "a volume at, under or above either hides or replaces them (another CA "
                        "trusted: INV-CA-DEDICATED) or stops the pod; use another path",
                    )
    for c_index, container in enumerate(_items(spec.get("containers"))):
        if container.get("name") == eck_layout.ELASTICSEARCH_CONTAINER:
            container_key = join(join(spec_key, "containers"), c_index)
            variables = _check_environment(
                container.get("env"), join(container_key, "env"), problems)
            _check_pod_name_variable(container, container_key, problems)
            _check_command_line(container, container_key, variables, problems)


# The official image reads settings from its environment too (EnvironmentAwareCommand,
# elastic/elasticsearch; Elastic's "Install Elasticsearch with Docker"): a lower-case dotted
# name is the setting itself, `ES_SETTING_` + upper case one with `_` for `.` and `__` for `_`.
# The policy pack, shipped on its own, reads them with its own copy (documents.env_setting);
# tests/policy/test_env_settings.py holds the two to one reading.
_ENV_SETTING = re.compile(r"[-a-z0-9_]+(\.[-a-z0-9_]+)+")
_ENV_PREFIX = "ES_SETTING_"
_ENV_UPPER_SETTING = re.compile(r"ES_SETTING(_{1,2}[A-Z0-9]+)+")


def env_setting(name: str) -> str | None:
    """The setting an environment variable of the Elasticsearch container sets, or None."""
    if _ENV_SETTING.fullmatch(name):
        return name
    if not _ENV_UPPER_SETTING.fullmatch(name):
        return None
    return "_".join(
        part.replace("_", ".") for part in name.removeprefix(_ENV_PREFIX).split("__")
    ).lower()


# Kubernetes' `$(VAR)` in a container's env values (k8s.io/kubernetes
# third_party/forked/golang/expansion/expand.go): `$$` is `$`, `$(NAME)` the variable's value;
# a `$(` without `)` and a `$` before any other character stay as written.
_REFERENCE = re.compile(r"\$(\$|\(([^)]*)\))")


def expand(text: str, variables: Mapping[str, str]) -> str | None:
    """`text` with its references expanded as kubelet expands an env value, or None when one
    names a variable not in `variables` (Kubernetes leaves it as written, but ECK's own
    variables and service links, which config validation does not see, may define it). The
    policy pack has its twin (documents.expand); tests/policy/test_env_settings.py holds the
    two to one reading."""
    missing = [match[2] for match in _REFERENCE.finditer(text)
               if match[1] != "$" and match[2] not in variables]
    if missing:
        return None
    return _REFERENCE.sub(lambda match: "$" if match[1] == "$" else variables[match[2]], text)


def _check_environment(env: object, key: str, problems: Problems) -> dict[str, str]:
    """The Elasticsearch container's `env`: settings there are judged as in `config`, each
    value as kubelet passes it (a `$(VAR)` expanded from the entries before it). Returns the
    variables whose values config validation reads."""
    readable: dict[str, str] = {}  # the variables so far whose value config validation reads
    if not isinstance(env, list):
        return readable
    for index, variable in enumerate(env):
        name = variable.get("name") if isinstance(variable, Mapping) else None
        if not isinstance(name, str):
            continue
        assert isinstance(variable, Mapping)
        # Kubernetes passes a variable without `value` as the empty text.
        given = "" if variable.get("value") is None else variable["value"]
        value = (None if "valueFrom" in variable
                 else expand(given, readable) if isinstance(given, str) else given)
        readable.pop(name, None)
        if isinstance(value, str):
            readable[name] = value
        setting = env_setting(name)
        if setting is None or not _judged(setting):
            continue
        path = join(key, index)
        if value is None:
            source = ("valueFrom" if "valueFrom" in variable else
                      f"{quoted(given)}, whose $(VAR) no env entry before it gives as text")
            problems.add(
                path,
                f"sets {setting} from {source}, which config validation cannot read, so "
                "nothing shows it keeps transport TLS intact; give it in nodeSets[].config",
            )
            continue
        _check_setting(setting, path, value, problems)
    return readable


def _check_pod_name_variable(
    container: Mapping[str, Any], key: str, problems: Problems
) -> None:
    """ECK sets POD_NAME to the pod's name; an entry of the user's replaces it in every pod
    (one from the pod's own `metadata.name`, as ECK's, changes nothing)."""
    for index, variable in enumerate(_items(container.get("env"))):
        value_from = variable.get("valueFrom")
        field = value_from.get("fieldRef") if isinstance(value_from, Mapping) else None
        as_ecks = isinstance(field, Mapping) and field.get("fieldPath") == "metadata.name"
        if variable.get("name") == eck_layout.POD_NAME_ENV and not as_ecks:
            problems.add(
                join(join(key, "env"), index),
                f"sets {eck_layout.POD_NAME_ENV}, which ECK sets to each pod's name: with this "
                "value ECK's node.name and the transport key and "
                "certificate files es-transport-pki points each pod at "
                f"(transport-pki/${{{eck_layout.POD_NAME_ENV}}}.tls.key) would be another "
                "pod's or none; remove it (or take it from the pod's metadata.name)",
            )


# Characters of a lower-case setting name used as a variable (`_ENV_SETTING`).
_SETTING_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def _names_no_setting(prefix: str) -> bool:
    """Whether no variable named `prefix` + anything is a setting (`env_setting`)."""
    return not set(prefix) <= _SETTING_NAME_CHARACTERS and not (
        prefix.startswith(_ENV_PREFIX.rstrip("_")) or _ENV_PREFIX.startswith(prefix)
    )


def env_from_warnings(cluster: str, node_sets: Sequence[NodeSetSpec]) -> list[str]:
    """`envFrom` entries of the Elasticsearch container: a ConfigMap's or Secret's keys become
    variables whose names config validation cannot read, and the image takes any of them named
    like a setting as one, unless the entry's prefix keeps every name from being a setting.
    Warned, not refused: importing JVM options or proxy variables this way is common, and the
    policy pack reads the objects the stack holds (es-transport-mtls-env-from)."""
    found: list[str] = []
    for n_index, node_set in enumerate(node_sets):
        template = node_set.passthrough.get("podTemplate")
        spec = template.get("spec") if isinstance(template, Mapping) else None
        containers = _items(spec.get("containers")) if isinstance(spec, Mapping) else []
        for c_index, container in enumerate(containers):
            if container.get("name") != eck_layout.ELASTICSEARCH_CONTAINER:
                continue
            for index, source in enumerate(_items(container.get("envFrom"))):
                prefix = source.get("prefix")
                if isinstance(prefix, str) and _names_no_setting(prefix):
                    continue
                found.append(
                    f"cluster {cluster}: eck.nodeSets[{n_index}].podTemplate.spec.containers"
                    f"[{c_index}].envFrom[{index}] imports variables whose names config "
                    "validation cannot read, and the image takes any of them named like a "
                    f"setting (xpack.security.…, {_ENV_PREFIX}…) as one, so nothing here shows "
                    "they keep transport TLS intact (INV-MTLS); the policy pack judges the "
                    "objects this stack holds. Give settings in nodeSets[].config, or give the "
                    "entry a prefix no setting name starts with, such as APP_"
                )
    return found


# `bin/elasticsearch -E name=value` (also `-Ename=value`, `-E=name=value`) sets a setting over
# elasticsearch.yml; the image's entrypoint hands its arguments on (`eswrapper -E ...`).
_SETTING_OPTION = "-E"


def _check_command_line(
    container: Mapping[str, Any], key: str, variables: Mapping[str, str], problems: Problems
) -> None:
    """The Elasticsearch container's `command` and `args`: each `-E` setting is judged as in
    `config`, with `$(VAR)` expanded from `variables` as kubelet expands it there."""
    for field in ("command", "args"):
        words = container.get(field)
        if not isinstance(words, list):
            continue
        for index, word in enumerate(words):
            if not isinstance(word, str) or not word.startswith(_SETTING_OPTION):
                continue
            option = word.removeprefix(_SETTING_OPTION).removeprefix("=")
            if not option and index + 1 < len(words) and isinstance(words[index + 1], str):
                option = words[index + 1]
            name, equals, given = option.partition("=")
            path = join(join(key, field), index)
            setting = expand(name, variables)
            value = expand(given, variables)
            if not equals or (setting is not None and not _judged(setting)):
                continue
            if setting is None or value is None:
                problems.add(
                    path,
                    f"sets a setting from {quoted(option)}, whose $(VAR) no env entry gives as "
                    "text, so nothing shows it keeps transport TLS intact; give it in "
                    "nodeSets[].config",
                )
                continue
            _check_setting(setting, path, value, problems)


def _check_secret(
    secret: str, path: str, problems: Problems, *, verb: str, into: str, remove: str
) -> None:
    """A reference to Secret `secret` at `path` (a volume, an env entry, a secure setting):
    refused when it names a cluster's transport CA key or node keys; `verb` and `into` say how
    the Secret would reach the pods ("mounts", "into every pod"), `remove` what to remove."""
    if secret.endswith(eck_layout.CA_SECRET_SUFFIX):
        problems.add(
            path,
            f"{verb} Secret {quoted(secret)}, a transport CA's key, {into}: "
            "whoever reads it can mint certificates the cluster trusts; the CA key reaches no "
            f"node, only ECK (INV-CUSTODY); remove {remove}",
        )
    elif secret.endswith(eck_layout.NODE_CERTS_SECRET_SUFFIX):
        problems.add(
            path,
            f"{verb} Secret {quoted(secret)}, every pod's transport key, a second time ({into}; "
            "es-transport-pki mounts its cluster's into the elasticsearch container alone; "
            "another cluster's would let these pods join that one: INV-CUSTODY, "
            f"INV-CA-DEDICATED); remove {remove}",
        )


_ENVIRONMENT = "into every pod's environment"


def _check_environment_secrets(
    container: Mapping[str, Any], key: str, problems: Problems
) -> None:
    """A container's `env[].valueFrom.secretKeyRef` and `envFrom[].secretRef`: a Secret's
    values in the environment reach the node as surely as a mounted volume."""
    for index, variable in enumerate(_items(container.get("env"))):
        value_from = variable.get("valueFrom")
        ref = value_from.get("secretKeyRef") if isinstance(value_from, Mapping) else None
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
            _check_secret(ref["name"], join(join(key, "env"), index), problems,
                          verb="passes", into=_ENVIRONMENT, remove="the variable")
    for index, source in enumerate(_items(container.get("envFrom"))):
        ref = source.get("secretRef")
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
            _check_secret(ref["name"], join(join(key, "envFrom"), index), problems,
                          verb="passes", into=_ENVIRONMENT, remove="the entry")


def _volume_secrets(volume: Mapping[str, Any]) -> list[str]:
    """The Secrets a pod volume holds: its own (`secret.secretName`) and projected ones."""
    secret = volume.get("secret")
    names = [secret.get("secretName")] if isinstance(secret, Mapping) else []
    projected = volume.get("projected")
    if isinstance(projected, Mapping):
        names += [source["secret"].get("name") for source in _items(projected.get("sources"))
                  if isinstance(source.get("secret"), Mapping)]
    return [name for name in names if isinstance(name, str)]


def _items(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]
