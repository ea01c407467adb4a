"""A set of local files owned by one Pulumi resource (VM delivery: one node's bundle).

`pulumi up` writes each VM node's bundle (elasticsearch.yml fragment, certs/..., secure
settings) into a directory. Elasticsearch hot-reloads certificate and CA files only when their
*content* changes (DESIGN §5), so this resource

* never renames: the caller names every file and the names are the state's keys;
* replaces each file atomically (temp file in the same directory, created with its final mode,
  fsync, `os.replace`), so a reloading node never reads half a key, and a key file is never
  readable by anyone else, not even for a moment;
* records only sha256 digests and modes, never content, so refresh can detect drift.

The provider is pickled by dill *by reference* (its class lives in an importable module, not
in `__main__`): the dynamic-provider process imports this module from the project directory.
Keep the module path and class name stable, and keep the provider free of instance state.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.dynamic as dyn
from pulumi.output import Unknown
from pulumi.runtime import rpc

DIR_MODE = 0o750
_MODE_PATTERN = re.compile(r"[0-7]{4}")
_CHUNK = 1 << 16

# Output names. `digests` is declared secret: secure settings may hold low-entropy passwords,
# and a bare sha256 of those is a guessing oracle. Modes stay readable for audits.
OUT_DIRECTORY = "directory"
OUT_MODES = "modes"
OUT_DIGESTS = "digests"
SECRET_OUTPUTS = ("files", OUT_DIGESTS)


class LocalFilesError(Exception):
    """A file operation failed; the message names the path and what to do about it."""


# --------------------------------------------------------------------------- program-side API


@dataclass(frozen=True)
class LocalFileArgs:
    """One file: its text content (may be a secret Output) and an octal mode string."""

    content: pulumi.Input[str]
    mode: str = "0644"


@dataclass(frozen=True)
class LocalFilesArgs:
    """`directory` is owned by the resource; `files` maps relative paths to files."""

    directory: pulumi.Input[str]
    files: Mapping[str, LocalFileArgs] = field(default_factory=dict)


class LocalFiles(dyn.Resource, module="es-transport-pki", name="LocalFiles"):
    """Writes `args.files` under `args.directory`.

    Type token: `pulumi-python:dynamic/es-transport-pki:LocalFiles`.
    """

    directory: pulumi.Output[str]
    modes: pulumi.Output[dict[str, str]]
    digests: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        args: LocalFilesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Fail in the program, before registering anything, for what is already known here;
        # `check` repeats this for values that were Outputs.
        known_directory = args.directory if isinstance(args.directory, str) else rpc.UNKNOWN
        problems = validate(known_directory, {p: {"mode": f.mode} for p, f in args.files.items()})
        if problems:
            raise ValueError(f"LocalFiles {resource_name!r}: " + "; ".join(r for _, r in problems))
        props: dict[str, Any] = {
            "directory": args.directory,
            "files": {p: {"content": f.content, "mode": f.mode} for p, f in args.files.items()},
            # Declared so the SDK gives the resource these output attributes.
            OUT_MODES: None,
            OUT_DIGESTS: None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_OUTPUTS))
        super().__init__(
            LocalFilesProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret)
        )


# --------------------------------------------------------------------------- validation


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def _plain(value: Any) -> Any:
    """Strips secret wrappers (the engine strips them for us, but direct callers may not)."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def normalise(path: str) -> str:
    """The canonical form of a relative path: the key of outputs and of every comparison."""
    return posixpath.normpath(path)


def _path_problem(path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return "file paths must be non-empty strings"
    if path.startswith("/"):
        return "absolute paths are not allowed; give a path relative to `directory`"
    if "\0" in path:
        return "NUL bytes are not allowed in paths"
    norm = normalise(path)
    if norm in {".", ".."} or norm.startswith("../") or ".." in path.split("/"):
        return "'..' is not allowed: every file must stay inside `directory`"
    return None


def _mode_problem(mode: Any) -> str | None:
    if not isinstance(mode, str) or not _MODE_PATTERN.fullmatch(mode):
        return f"mode must be a 4-digit octal string such as '0600' or '0644', got {mode!r}"
    if mode[0] != "0":
        return f"mode {mode!r} sets setuid/setgid/sticky bits, which bundle files never need"
    return None


def _directory_problem(directory: Any) -> str | None:
    if is_unknown(directory):
        return None
    if not isinstance(directory, str) or not directory.strip():
        return "directory must be a non-empty path"
    if "\0" in directory:
        return "NUL bytes are not allowed in directory"
    return None


def _files_problems(files: Any) -> list[tuple[str, str]]:
    if is_unknown(files):
        return []
    if not isinstance(files, Mapping):
        return [("files", "files must be a mapping of relative path to {content, mode}")]
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for path, spec in files.items():
        prop = f"files[{path!r}]"
        reason = _path_problem(path)
        if reason is not None:
            problems.append((prop, f"{prop}: {reason}"))
            continue
        norm = normalise(path)
        if norm in seen:
            reason = f"{prop}: same file as files[{seen[norm]!r}] after normalisation"
            problems.append((prop, reason))
            continue
        seen[norm] = path
        problems.extend(_spec_problems(prop, spec))
    problems.extend(_file_directory_clashes(seen))
    return problems


def _spec_problems(prop: str, spec: Any) -> list[tuple[str, str]]:
    if is_unknown(spec):
        return []
    if not isinstance(spec, Mapping):
        return [(prop, f"{prop}: must be a mapping with 'content' and 'mode'")]
    problems: list[tuple[str, str]] = []
    mode_reason = _mode_problem(spec.get("mode"))
    if mode_reason is not None:
        problems.append((f"{prop}.mode", f"{prop}.mode: {mode_reason}"))
    content = spec.get("content", "")
    if not is_unknown(content) and not isinstance(content, str):
        problems.append((f"{prop}.content", f"{prop}.content: must be a string"))
    return problems


def _file_directory_clashes(seen: Mapping[str, str]) -> list[tuple[str, str]]:
    # "certs" and "certs/node.crt" cannot both be files.
    problems: list[tuple[str, str]] = []
    for norm, original in seen.items():
        parent = posixpath.dirname(norm)
        while parent:
            if parent in seen:
                prop = f"files[{seen[parent]!r}]"
                reason = f"{prop} is a file but files[{original!r}] needs it as a directory"
                problems.append((prop, reason))
            parent = posixpath.dirname(parent)
    return problems


def validate(directory: Any, files: Any) -> list[tuple[str, str]]:
    """(property, reason) for every problem; unknown (preview) values are skipped."""
    problems: list[tuple[str, str]] = []
    reason = _directory_problem(_plain(directory))
    if reason is not None:
        problems.append(("directory", f"directory: {reason}"))
    problems.extend(_files_problems(_plain(files)))
    return problems


# --------------------------------------------------------------------------- desired state


@dataclass(frozen=True)
class FileContent:
    """One file's bytes (None: unknown during preview) and its octal mode string."""

    content: bytes | None
    mode: str


@dataclass(frozen=True)
class _Desired:
    directory: str
    files: Mapping[str, FileContent]  # keyed by normalised relative path

    def modes(self) -> dict[str, str]:
        return {p: f.mode for p, f in sorted(self.files.items())}

    def digests(self) -> dict[str, str]:
        known = sorted((p, f.content) for p, f in self.files.items() if f.content is not None)
        return {p: digest(content) for p, content in known}


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _desired(props: Mapping[str, Any]) -> _Desired:
    """Parses validated inputs; raises with the `check` messages if they are not valid."""
    problems = validate(props.get("directory"), props.get("files"))
    if problems:
        raise LocalFilesError("; ".join(reason for _, reason in problems))
    files: dict[str, FileContent] = {}
    for path, spec in _plain(props.get("files") or {}).items():
        content = spec.get("content", "")
        data = None if is_unknown(content) else content.encode("utf-8")
        files[normalise(path)] = FileContent(data, spec["mode"])
    return _Desired(normalise(_plain(props["directory"])), files)


def _outputs(
    directory: str, modes: Mapping[str, str], digests: Mapping[str, str]
) -> dict[str, Any]:
    return {
        OUT_DIRECTORY: directory,
        OUT_MODES: dict(sorted(modes.items())),
        OUT_DIGESTS: dict(sorted(digests.items())),
    }


def _recorded(props: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(modes, digests) from a previous output bag; tolerant of missing keys."""
    return dict(_plain(props.get(OUT_MODES) or {})), dict(_plain(props.get(OUT_DIGESTS) or {}))


# --------------------------------------------------------------------------- errors


_ADVICE = {
    errno.EPERM: "operation not permitted; check the ownership and attributes (chattr) of the "
    "path, or choose another directory",
    errno.EROFS: "the file system is read-only; choose a writable directory",
    errno.ENOTDIR: "a component of the path is a file, not a directory; remove or rename that "
    "file, or choose another directory",
    errno.EISDIR: "a directory is in the way; remove it or choose another file name",
    errno.ENOSPC: "no space left on the device; free space and run `pulumi up` again",
    errno.EDQUOT: "disk quota exceeded; free space and run `pulumi up` again",
}


def _error(action: str, path: str, err: OSError) -> LocalFilesError:
    """An error naming the path and the fix (the caller's action decides what access is missing)."""
    if err.errno == errno.EACCES:
        # Creating, replacing or removing an entry needs write access to its parent directory.
        access, where = ("read", path) if action == "read" else ("write", os.path.dirname(path))
        advice = (
            f"permission denied; give the user running `pulumi up` {access} access to "
            f"{where!r}, or choose another directory"
        )
    else:
        advice = _ADVICE.get(err.errno or 0, err.strerror or str(err))
    return LocalFilesError(f"cannot {action} {path!r}: {advice} ({err.strerror or err})")


# --------------------------------------------------------------------------- file system


def _join(directory: str, rel: str) -> str:
    return os.path.join(directory, *rel.split("/"))


def _prefixes(directory: str) -> list[str]:
    """'out/dev/node-1' -> ['out', 'out/dev', 'out/dev/node-1'] (absolute paths keep their root)."""
    head, result = directory, []
    while head and head not in (os.sep, "."):
        result.append(head)
        head = os.path.dirname(head)
    return list(reversed(result))


def _ensure_directory(directory: str, created: list[str]) -> None:
    """Creates missing directories (0750, umask defeated), appending each to `created` at once."""
    if os.path.isdir(directory):
        return  # the usual case: one stat instead of one per path component
    for path in _prefixes(directory):
        if os.path.isdir(path):
            continue
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            # Checked only now: a sibling resource may create it between isdir and mkdir (the
            # provider host runs steps concurrently).
            if os.path.isdir(path):
                continue
            raise LocalFilesError(
                f"cannot create directory {directory!r}: {path!r} exists and is not a directory; "
                "remove or rename it, or choose another directory"
            ) from None
        except OSError as err:
            raise _error("create directory", path, err) from err
        created.append(path)
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask


def _stage(final: str, content: bytes, mode: str) -> str:
    """Writes a temp file beside `final`, already at its final mode; returns its path."""
    directory, name = os.path.split(final)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    bits = int(mode, 8)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        # The mode given to open() applies at creation, so the key is never more readable
        # than asked; fchmod then restores bits the umask removed (e.g. 0644 under umask 077).
        fd = os.open(tmp, flags, bits)
    except OSError as err:
        raise _error("write", final, err) from err
    complete = False
    try:
        os.fchmod(fd, bits)
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)  # the data must be on disk before the rename makes it the real file
        complete = True
    except OSError as err:
        raise _error("write", final, err) from err
    finally:
        os.close(fd)
        if not complete:
            _unlink_quietly(tmp)
    return tmp


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_directory(directory: str) -> None:
    # Makes the renames durable; some file systems refuse fsync on directories, which is fine.
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _on_disk(path: str) -> tuple[str, str] | None:
    """(mode, sha256) of a regular file; None if missing or not a regular file (e.g. a symlink)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        raise _error("read", path, err) from err
    if not stat.S_ISREG(st.st_mode):
        return None
    digest = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise _error("read", path, err) from err
    try:
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
    finally:
        os.close(fd)
    return f"{stat.S_IMODE(st.st_mode):04o}", digest.hexdigest()


@dataclass
class _Written:
    """What one write pass changed, so that a failed create can be undone."""

    new_files: list[str] = field(default_factory=list)
    new_dirs: list[str] = field(default_factory=list)


def _write(desired: _Desired, written: _Written) -> None:
    """Stages every changed file, then renames them into place (sorted, deterministic)."""
    staged: list[tuple[str, str]] = []
    committed = 0
    _ensure_directory(desired.directory, written.new_dirs)
    try:
        for rel, spec in sorted(desired.files.items()):
            final = _join(desired.directory, rel)
            if os.path.dirname(final) != desired.directory:
                _ensure_directory(os.path.dirname(final), written.new_dirs)
            if spec.content is None:
                raise LocalFilesError(f"cannot write {final!r}: its content is still unknown")
            if _on_disk(final) == (spec.mode, digest(spec.content)):
                continue  # unchanged: leave mtime alone so Elasticsearch does not reload
            staged.append((_stage(final, spec.content, spec.mode), final))
        for tmp, final in staged:
            _commit(tmp, final, written)
            committed += 1
    finally:
        for tmp, _ in staged[committed:]:
            _unlink_quietly(tmp)  # after a failure: the temp files not renamed into place
    for directory in sorted({os.path.dirname(final) for _, final in staged}):
        _fsync_directory(directory)


def _commit(tmp: str, final: str, written: _Written) -> None:
    existed = os.path.lexists(final)
    try:
        os.replace(tmp, final)
    except OSError as err:
        raise _error("replace", final, err) from err
    if not existed:
        written.new_files.append(final)


def _remove_file(path: str) -> None:
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            return  # not ours: a directory someone put in place of our file
        os.unlink(path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as err:
        raise _error("remove", path, err) from err


def _subdirectories(directory: str, rels: Iterable[str]) -> list[str]:
    """The subdirectories of `directory` that hold `rels`, deepest first."""
    found: set[str] = set()
    for rel in rels:
        parent = posixpath.dirname(rel)
        while parent:
            found.add(_join(directory, parent))
            parent = posixpath.dirname(parent)
    return sorted(found, key=lambda p: (-p.count(os.sep), p))


def _prune(directory: str, rels: Iterable[str], *, including_directory: bool) -> None:
    """Removes emptied subdirectories (and `directory` itself on delete); keeps non-empty ones."""
    for path in _subdirectories(directory, rels):
        _rmdir_quietly(path)
    if including_directory:
        _rmdir_quietly(directory)


def _rmdir_quietly(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError as err:
        if err.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT, errno.ENOTDIR):
            raise _error("remove directory", path, err) from err


def _undo(written: _Written) -> None:
    """Best effort: a failed create leaves no untracked key files or directories behind."""
    for path in reversed(written.new_files):
        _unlink_quietly(path)
    for path in reversed(written.new_dirs):
        _rmdir_quietly(path)


def _same_place(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _nested(a: str, b: str) -> bool:
    """True if one directory is inside the other (or both are the same)."""
    ra, rb = os.path.realpath(a), os.path.realpath(b)
    return ra == rb or ra.startswith(rb + os.sep) or rb.startswith(ra + os.sep)


# --------------------------------------------------------------------------- file-set operations
# The provider below and `components.node_bundle` (one VM node's bundle) both manage file sets
# through these; paths are normalised relative paths.


def create_files(directory: str, files: Mapping[str, FileContent]) -> None:
    """Writes every file; on failure removes the files and directories this call created."""
    written = _Written()
    try:
        _write(_Desired(directory, files), written)
    except BaseException:
        _undo(written)
        raise


def update_files(
    old_directory: str, old_paths: Iterable[str], directory: str, files: Mapping[str, FileContent]
) -> None:
    """Writes the changed files, then removes the old paths that left the set."""
    _write(_Desired(directory, files), _Written())
    keep = {os.path.realpath(_join(directory, rel)) for rel in files}
    dropped = [
        rel
        for rel in sorted(old_paths)
        if os.path.realpath(_join(old_directory, rel)) not in keep  # never delete what we wrote
    ]
    for rel in dropped:
        _remove_file(_join(old_directory, rel))
    _prune(old_directory, dropped, including_directory=False)


def scan_files(directory: str, paths: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(modes, digests) of the regular files among `paths`; a missing file is left out, so a
    refreshed state shows it gone and the next `up` restores it."""
    modes: dict[str, str] = {}
    digests: dict[str, str] = {}
    for rel in sorted(set(paths)):
        found = _on_disk(_join(directory, rel))
        if found is not None:
            modes[rel], digests[rel] = found
    return modes, digests


def drifted_files(directory: str, files: Mapping[str, FileContent]) -> list[str]:
    """Paths whose file on disk differs from `files` in mode or content (or is missing)."""
    return sorted(
        rel
        for rel, spec in files.items()
        if spec.content is None
        or _on_disk(_join(directory, rel)) != (spec.mode, digest(spec.content))
    )


def delete_files(directory: str, paths: Iterable[str]) -> None:
    """Removes the files, then every emptied subdirectory and `directory` itself."""
    rels = sorted(set(paths))
    for rel in rels:
        _remove_file(_join(directory, rel))
    _prune(directory, rels, including_directory=True)


# --------------------------------------------------------------------------- diff helpers


def changed_files(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Normalised paths whose digest or mode differs (or is unknown), or that leave the set.

    The Python dynamic-provider API has no detailed diff, so this is what `diff` decides on;
    callers and tests can use it to say *which* files an update touches.
    """
    modes, digests = _recorded(olds)
    files = _plain(news.get("files"))
    if is_unknown(files):
        return sorted(modes)  # the whole set is unknown at preview: anything may change
    wanted: dict[str, tuple[str | None, Any]] = {}
    for path, spec in (files or {}).items():
        if not isinstance(spec, Mapping):  # unknown at preview
            wanted[normalise(path)] = (None, None)
            continue
        content = spec.get("content", "")
        sha = None if is_unknown(content) else digest(content.encode("utf-8"))
        wanted[normalise(path)] = (sha, spec.get("mode"))
    changed = {
        path
        for path, (sha, mode) in wanted.items()
        if sha is None or digests.get(path) != sha or modes.get(path) != mode
    }
    changed.update(set(modes) - set(wanted))
    return sorted(changed)


def _directory_diff(old: Any, new: Any) -> tuple[bool, bool, bool]:
    """(changed, replace, delete_before_replace) for the `directory` property."""
    new = _plain(new)
    if is_unknown(new):
        return True, True, False
    old_norm, new_norm = normalise(str(old)), normalise(str(new))
    if old_norm == new_norm:
        return False, False, False
    if _same_place(old_norm, new_norm):
        return True, False, False  # another spelling of the same directory: update in place
    # Create-before-delete is safe only if the old and new trees are disjoint; otherwise the
    # old resource's delete could remove files the new one has just written.
    return True, True, _nested(old_norm, new_norm)


# --------------------------------------------------------------------------- provider


class LocalFilesProvider(dyn.ResourceProvider):
    """CRUD for LocalFiles. Stateless on purpose: dill pickles instances into the state."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        failures = [
            dyn.CheckFailure(prop, reason)
            for prop, reason in validate(news.get("directory"), news.get("files"))
        ]
        # Inputs go back untouched: renaming keys would lose the engine's secret annotations.
        return dyn.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        dir_changed, replace, delete_first = _directory_diff(
            olds.get(OUT_DIRECTORY), news.get("directory")
        )
        files_unknown = is_unknown(_plain(news.get("files")))
        files_changed = files_unknown or bool(changed_files(olds, news))
        return dyn.DiffResult(
            changes=dir_changed or files_changed,
            replaces=["directory"] if replace else [],
            delete_before_replace=delete_first,
        )

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        desired = _desired(props)
        create_files(desired.directory, desired.files)
        return dyn.CreateResult(desired.directory, self._outs(desired))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        desired = _desired(news)
        old_dir = normalise(str(_plain(olds.get(OUT_DIRECTORY) or desired.directory)))
        old_modes, _ = _recorded(olds)
        update_files(old_dir, old_modes, desired.directory, desired.files)
        return dyn.UpdateResult(self._outs(desired))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        directory = normalise(str(_plain(props.get(OUT_DIRECTORY) or id_)))
        modes, digests = _recorded(props)
        # `pulumi import`/get passes inputs only: fall back to the input file names.
        inputs = _plain(props.get("files"))
        named = {normalise(p) for p in inputs} if isinstance(inputs, Mapping) else set()
        actual_modes, actual_digests = scan_files(directory, set(modes) | set(digests) | named)
        return dyn.ReadResult(id_, _outputs(directory, actual_modes, actual_digests))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        directory = normalise(str(_plain(props.get(OUT_DIRECTORY) or id_)))
        modes, digests = _recorded(props)
        delete_files(directory, set(modes) | set(digests))

    @staticmethod
    def _outs(desired: _Desired) -> dict[str, Any]:
        return _outputs(desired.directory, desired.modes(), desired.digests())
