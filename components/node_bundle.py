"""NodeBundle: one VM node's bundle, written to a local folder and rendered as cloud-init.

One dynamic resource per node does both, from the same bytes, so the folder and the cloud-init
document can never disagree. Inputs carry the text files (`files`, whose `elasticsearch.yml`
the policy pack judges), the HTTP layer's files apart (`httpFiles`: their own input, so that
the dependencies of each layer's material stay apart for the policy pack, INV-SEPARATE) and,
for PKCS#12, the PEM material the stores are built from.

PKCS#12 files carry random salts, so they are built here, once per change of their source, and
kept in the outputs; the store passwords are generated on create and then never change
(Elasticsearch does not reload secure settings, DESIGN §5).

Pickled by dill by reference like `LocalFilesProvider`: keep the module path, the class name and
the provider free of instance state.
"""

from __future__ import annotations

import base64
import posixpath
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import pulumi
import pulumi.dynamic as dyn

from components import local_files, outputs, vm_bundle
from components.local_files import FileContent, LocalFileArgs

# Inputs.
IN_CLUSTER = "cluster"
IN_NODE = "node"
IN_DIRECTORY = "directory"
IN_CONFIG_DIR = "configDir"
IN_OWNER = "owner"
IN_FILES = "files"
IN_HTTP_FILES = "httpFiles"
IN_STORES = "stores"
STORE_SOURCES = ("key", "certificate", "certificateAuthorities")
# What each store is built from: the truststore is not rebuilt when only the node key changes.
_STORE_INPUTS = {vm_bundle.KEYSTORE: STORE_SOURCES, vm_bundle.TRUSTSTORE: STORE_SOURCES[2:]}
# Outputs (the scalar inputs are echoed too, for `diff`).
OUT_MODES = "modes"
OUT_DIGESTS = "digests"
OUT_CLOUD_INIT = "cloudInit"
OUT_PASSWORDS = "passwords"
OUT_STORE_FILES = "storeFiles"
OUT_STORE_SOURCE = "storeSources"
OUT_CLOUD_INIT_FORM = "cloudInitForm"
# Raised whenever the cloud-init document changes form while no input changes (2: the appended
# elasticsearch.yml keeps the packages' ownership and mode, and the appended text starts with a
# newline), so that the next `up` re-renders every stored document instead of leaving the old
# form until a certificate changes.
CLOUD_INIT_FORM = 2
SECRET_OUTPUTS = (OUT_DIGESTS, OUT_CLOUD_INIT, OUT_PASSWORDS, OUT_STORE_FILES, OUT_STORE_SOURCE)
_ECHOED = (IN_CLUSTER, IN_NODE, IN_DIRECTORY, IN_CONFIG_DIR, IN_OWNER)


@dataclass(frozen=True)
class StoreSources:
    """PEM material of the PKCS#12 stores (a secret: it holds the node key)."""

    key: pulumi.Input[str]
    certificate: pulumi.Input[str]
    certificate_authorities: pulumi.Input[str]


@dataclass(frozen=True)
class NodeBundleArgs:
    cluster: str
    node: str
    directory: str | None  # None: cloud-init only
    config_dir: str
    owner: str
    files: Mapping[str, LocalFileArgs]
    stores: StoreSources | None = None
    http_files: Mapping[str, LocalFileArgs] = field(default_factory=dict)


class NodeBundle(dyn.Resource, module="es-transport-pki", name="NodeBundle"):
    """Type token: `pulumi-python:dynamic/es-transport-pki:NodeBundle`."""

    def __init__(
        self, resource_name: str, args: NodeBundleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The echoed files hold the node keys: secret outputs too (INV-CUSTODY).
        secret = pulumi.ResourceOptions(
            additional_secret_outputs=[*SECRET_OUTPUTS, IN_FILES, IN_HTTP_FILES]
        )
        super().__init__(
            NodeBundleProvider(), resource_name, bundle_props(args),
            pulumi.ResourceOptions.merge(opts, secret),
        )

    @property
    def cloud_init(self) -> pulumi.Output[str]:
        return cast(pulumi.Output[str], getattr(self, OUT_CLOUD_INIT))


def bundle_props(args: NodeBundleArgs) -> dict[str, Any]:
    """The inputs a `NodeBundle` registers (its provider's `news`)."""
    stores: pulumi.Output[dict[str, str]] | None = None
    if args.stores is not None:
        stores = outputs.secret(
            pulumi.Output.all(
                args.stores.key, args.stores.certificate, args.stores.certificate_authorities
            ).apply(lambda pems: dict(zip(STORE_SOURCES, pems, strict=True)))
        )
    return {
        IN_CLUSTER: args.cluster,
        IN_NODE: args.node,
        IN_DIRECTORY: args.directory,
        IN_CONFIG_DIR: args.config_dir,
        IN_OWNER: args.owner,
        IN_FILES: _file_specs(args.files),
        IN_HTTP_FILES: _file_specs(args.http_files),
        IN_STORES: stores,
        # The one output the program reads. The provider returns the others too; they are
        # stored, and secret, all the same (each declared one costs the SDK an Output).
        OUT_CLOUD_INIT: None,
    }


def _file_specs(files: Mapping[str, LocalFileArgs]) -> dict[str, Any]:
    return {p: {"content": f.content, "mode": f.mode} for p, f in files.items()}


# --------------------------------------------------------------------------- validation


def _all_files(news: Mapping[str, Any]) -> Any:
    """Both layers' files as one map (what is written); unknown or malformed input as is."""
    files, http = news.get(IN_FILES), news.get(IN_HTTP_FILES) or {}
    if isinstance(files, Mapping) and isinstance(http, Mapping):
        return {**files, **http}
    # Unknown at preview, or malformed: handed on as is for `local_files.validate` to judge.
    return files if not isinstance(files, Mapping) else http


def _problems(news: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = [
        (name, f"{name}: must be a non-empty string")
        for name in (IN_CLUSTER, IN_NODE, IN_OWNER)
        if not local_files.is_unknown(news.get(name)) and not _text(news.get(name))
    ]
    config_dir = news.get(IN_CONFIG_DIR)
    absolute = isinstance(config_dir, str) and posixpath.isabs(config_dir)
    if not local_files.is_unknown(config_dir) and not absolute:
        problems.append((IN_CONFIG_DIR, f"{IN_CONFIG_DIR}: must be an absolute path on the node"))
    directory = news.get(IN_DIRECTORY)
    problems += local_files.validate("." if directory is None else directory, _all_files(news))
    http = news.get(IN_HTTP_FILES)
    if isinstance(http, Mapping) and isinstance(news.get(IN_FILES), Mapping):
        problems += [
            (IN_HTTP_FILES, f"{IN_HTTP_FILES}: {rel} is also in {IN_FILES}; each layer has "
             "its own files")
            for rel in sorted(set(http) & set(news[IN_FILES]))
        ]
    stores = news.get(IN_STORES)
    if stores is not None and not local_files.is_unknown(stores) and not (
        isinstance(stores, Mapping) and all(_text(stores.get(k)) for k in STORE_SOURCES)
    ):
        problems.append((IN_STORES, f"{IN_STORES}: must map {', '.join(STORE_SOURCES)} to PEM"))
    return problems


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _has_unknowns(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_has_unknowns(v) for v in value.values())
    return local_files.is_unknown(value)


# --------------------------------------------------------------------------- the bundle


@dataclass(frozen=True)
class _Bundle:
    """Every file of the bundle; store files are None until built (a `diff` never builds)."""

    files: dict[str, FileContent]
    passwords: vm_bundle.Passwords | None
    store_sources: dict[str, str] | None

    def outputs(self, news: Mapping[str, Any], config_dir: str, owner: str) -> dict[str, Any]:
        files = {rel: (f.content or b"", f.mode) for rel, f in self.files.items()}
        stores = {rel: f.content for rel, f in self.files.items() if _is_store(rel)}
        outs: dict[str, Any] = {name: news.get(name) for name in _ECHOED}
        # The files as given, so that the policy pack's stack view (which sees outputs after
        # an `up`) knows what each layer delivers; secret like the inputs they echo.
        outs.update({name: news.get(name) for name in (IN_FILES, IN_HTTP_FILES)})
        outs[IN_DIRECTORY] = _directory(news)
        outs.update(
            {
                OUT_MODES: {rel: f.mode for rel, f in sorted(self.files.items())},
                OUT_DIGESTS: {
                    rel: local_files.digest(content) for rel, (content, _) in sorted(files.items())
                },
                OUT_CLOUD_INIT: vm_bundle.cloud_init(config_dir, owner, files),
                OUT_CLOUD_INIT_FORM: CLOUD_INIT_FORM,
                OUT_PASSWORDS: None if self.passwords is None else asdict(self.passwords),
                OUT_STORE_FILES: {
                    rel: base64.b64encode(content or b"").decode()
                    for rel, content in stores.items()
                },
                OUT_STORE_SOURCE: self.store_sources,
            }
        )
        return outs


def _is_store(rel: str) -> bool:
    return rel in (vm_bundle.KEYSTORE, vm_bundle.TRUSTSTORE)


def _directory(props: Mapping[str, Any]) -> str | None:
    directory = props.get(IN_DIRECTORY)
    return None if directory is None else local_files.normalise(str(directory))


def _passwords(olds: Mapping[str, Any]) -> vm_bundle.Passwords | None:
    kept = olds.get(OUT_PASSWORDS)
    return vm_bundle.Passwords(**kept) if isinstance(kept, Mapping) else None


def _expected(news: Mapping[str, Any], olds: Mapping[str, Any]) -> _Bundle:
    """The bundle `news` asks for, reusing the stores in `olds` while their source is the same."""
    files = {
        local_files.normalise(rel): FileContent(
            None if local_files.is_unknown(spec["content"]) else spec["content"].encode(),
            spec["mode"],
        )
        for rel, spec in _all_files(news).items()
    }
    # A password, once generated, is kept for the life of the resource, whatever else changes.
    passwords = _passwords(olds)
    stores = news.get(IN_STORES)
    if stores is None:
        return _Bundle(files, passwords, None)
    sources = None if _has_unknowns(stores) else {
        rel: vm_bundle.source_digest(*(stores[k] for k in names))
        for rel, names in _STORE_INPUTS.items()
    }
    old_sources = olds.get(OUT_STORE_SOURCE) or {}
    kept = olds.get(OUT_STORE_FILES) or {}
    for rel in _STORE_INPUTS:
        reuse = (
            sources is not None
            and passwords is not None
            and sources[rel] == old_sources.get(rel)
            and rel in kept
        )
        content = base64.b64decode(kept[rel]) if reuse else None
        files[rel] = FileContent(content, vm_bundle.MODES[rel])
    secure = None if passwords is None else vm_bundle.secure_settings_json(passwords).encode()
    files[vm_bundle.SECURE_SETTINGS] = FileContent(secure, vm_bundle.SECRET_MODE)
    return _Bundle(files, passwords, sources)


def _built(news: Mapping[str, Any], olds: Mapping[str, Any]) -> _Bundle:
    """`_expected`, with passwords generated and stores built where they were missing."""
    bundle = _expected(news, olds)
    stores = news.get(IN_STORES)
    if stores is None:
        return bundle
    passwords = bundle.passwords or vm_bundle.Passwords(
        keystore=secrets.token_urlsafe(32), truststore=secrets.token_urlsafe(32)
    )
    key, cert, cas = (stores[k] for k in STORE_SOURCES)
    built: dict[str, Callable[[], bytes]] = {
        vm_bundle.KEYSTORE: lambda: vm_bundle.keystore(key, cert, cas, passwords.keystore),
        vm_bundle.TRUSTSTORE: lambda: vm_bundle.truststore(cas, passwords.truststore),
        vm_bundle.SECURE_SETTINGS: lambda: vm_bundle.secure_settings_json(passwords).encode(),
    }
    files = dict(bundle.files)
    for rel, build in built.items():
        if files[rel].content is None:
            files[rel] = FileContent(build(), vm_bundle.MODES[rel])
    return _Bundle(files, passwords, bundle.store_sources)


def _outputs(bundle: _Bundle, news: Mapping[str, Any]) -> dict[str, Any]:
    return bundle.outputs(news, str(news[IN_CONFIG_DIR]), str(news[IN_OWNER]))


def _resource_id(news: Mapping[str, Any]) -> str:
    return _directory(news) or f"cloud-init/{news[IN_CLUSTER]}/{news[IN_NODE]}"


# --------------------------------------------------------------------------- provider


class NodeBundleProvider(dyn.ResourceProvider):
    """CRUD for NodeBundle. Stateless on purpose: dill pickles instances into the state."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        failures = [dyn.CheckFailure(prop, reason) for prop, reason in _problems(news)]
        return dyn.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        if any(
            _has_unknowns(news.get(k)) for k in (*_ECHOED, IN_FILES, IN_HTTP_FILES, IN_STORES)
        ):
            return dyn.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        echoed = {**news, IN_DIRECTORY: _directory(news)}
        changed = any(olds.get(k) != echoed.get(k) for k in _ECHOED)
        changed = changed or olds.get(OUT_CLOUD_INIT_FORM) != CLOUD_INIT_FORM
        bundle = _expected(news, olds)
        recorded = {rel: (olds.get(OUT_MODES) or {}).get(rel) for rel in bundle.files}
        digests = olds.get(OUT_DIGESTS) or {}
        changed = changed or set(bundle.files) != set(olds.get(OUT_MODES) or {}) or any(
            f.content is None
            or recorded[rel] != f.mode
            or digests.get(rel) != local_files.digest(f.content)
            for rel, f in bundle.files.items()
        )
        directory = _directory(news)
        # The folder on disk counts too: an edited or deleted file is restored by the next `up`.
        drift = directory is not None and bool(local_files.drifted_files(directory, bundle.files))
        return dyn.DiffResult(changes=changed or drift, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        self._refuse_invalid(props)
        bundle = _built(props, {})
        directory = _directory(props)
        if directory is not None:
            local_files.create_files(directory, bundle.files)
        return dyn.CreateResult(_resource_id(props), _outputs(bundle, props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        # Never a replacement: a new resource would mean new store passwords.
        self._refuse_invalid(news)
        bundle = _built(news, olds)
        directory, old_directory = _directory(news), _directory(olds)
        old_paths = list(olds.get(OUT_MODES) or {})
        if directory is not None:
            local_files.update_files(old_directory or directory, old_paths, directory, bundle.files)
        elif old_directory is not None:
            local_files.delete_files(old_directory, old_paths)
        return dyn.UpdateResult(_outputs(bundle, news))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        directory = _directory(props)
        if directory is None:
            return dyn.ReadResult(id_, props)
        modes, digests = local_files.scan_files(directory, props.get(OUT_MODES) or {})
        return dyn.ReadResult(id_, {**props, OUT_MODES: modes, OUT_DIGESTS: digests})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        directory = _directory(props)
        if directory is not None:
            local_files.delete_files(directory, props.get(OUT_MODES) or {})

    @staticmethod
    def _refuse_invalid(props: Mapping[str, Any]) -> None:
        problems = _problems(props)
        if problems:
            raise local_files.LocalFilesError("; ".join(reason for _, reason in problems))
