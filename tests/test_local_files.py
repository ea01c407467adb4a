"""LocalFiles: atomic, mode-exact, drift-aware file sets for VM bundles (DESIGN §5, INV-CUSTODY)."""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import importlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import UNKNOWN
from pulumi.runtime import mocks, rpc

from components.local_files import (
    LocalFileArgs,
    LocalFiles,
    LocalFilesArgs,
    LocalFilesError,
    LocalFilesProvider,
    changed_files,
)

# dill ships no type information; this is the module the dynamic-provider host uses.
dill: Any = importlib.import_module("dill")
REPO = Path(__file__).resolve().parent.parent
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqG\n-----END PRIVATE KEY-----\n"
CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
YML = "xpack.security.transport.ssl.enabled: true\n"


def bundle(directory: Path | str, **overrides: dict[str, str]) -> dict[str, Any]:
    """An input bag as the engine hands it to the provider (camelCase keys, plain values)."""
    files: dict[str, dict[str, str]] = {
        "certs/node.key": {"content": KEY_PEM, "mode": "0600"},
        "certs/node.crt": {"content": CERT_PEM, "mode": "0644"},
        "elasticsearch.yml": {"content": YML, "mode": "0644"},
    }
    files.update(overrides)
    return {"directory": str(directory), "files": files}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture
def provider() -> LocalFilesProvider:
    return LocalFilesProvider()


@pytest.fixture
def strict_umask() -> Iterator[None]:
    # A restrictive umask would silently strip 0644 to 0600; fchmod must restore exact modes.
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


# --------------------------------------------------------------------------- create


@pytest.mark.usefixtures("strict_umask")
def test_create_writes_contents_and_exact_modes(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "out" / "dev" / "node-1"
    result = provider.create(bundle(node))

    assert (node / "certs" / "node.key").read_text() == KEY_PEM
    assert (node / "certs" / "node.crt").read_text() == CERT_PEM
    assert (node / "elasticsearch.yml").read_text() == YML
    assert mode_of(node / "certs" / "node.key") == 0o600
    assert mode_of(node / "certs" / "node.crt") == 0o644
    assert mode_of(node / "elasticsearch.yml") == 0o644
    for directory in (tmp_path / "out", tmp_path / "out" / "dev", node, node / "certs"):
        assert mode_of(directory) == 0o750, directory

    assert result.id == str(node)
    assert result.outs == {
        "directory": str(node),
        "modes": {"certs/node.crt": "0644", "certs/node.key": "0600", "elasticsearch.yml": "0644"},
        "digests": {
            "certs/node.crt": sha256(CERT_PEM),
            "certs/node.key": sha256(KEY_PEM),
            "elasticsearch.yml": sha256(YML),
        },
    }
    assert "PRIVATE KEY" not in repr(result.outs)  # content never lands in outputs
    assert leftovers(tmp_path) == []


def test_identical_inputs_give_identical_outputs(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    first = provider.create(bundle(tmp_path / "n"))
    provider.delete(first.id, cast(dict[str, Any], first.outs))
    second = provider.create(bundle(tmp_path / "n"))
    assert (first.id, first.outs) == (second.id, second.outs)


def test_key_file_is_never_more_readable_than_its_mode(
    provider: LocalFilesProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: dict[str, int] = {}
    at_rename: dict[str, tuple[int, str]] = {}
    real_open, real_replace = os.open, os.replace

    def spy_open(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & os.O_CREAT:
            opened[os.path.basename(path)] = mode
        return real_open(path, flags, mode, **kw)

    def spy_replace(src: Any, dst: Any) -> None:
        # The moment the file becomes visible under its real name it is complete and 0600.
        at_rename[os.path.basename(dst)] = (
            mode_of(Path(src)), Path(src).read_text(encoding="utf-8"))
        real_replace(src, dst)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "replace", spy_replace)
    provider.create(bundle(tmp_path / "n"))

    key_tmp = [name for name in opened if name.startswith(".node.key.")]
    assert len(key_tmp) == 1 and opened[key_tmp[0]] == 0o600  # created 0600, not chmod-ed later
    assert at_rename["node.key"] == (0o600, KEY_PEM)
    assert at_rename["node.crt"] == (0o644, CERT_PEM)


def test_a_failed_create_leaves_nothing_behind(
    provider: LocalFilesProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def fail_on_yml(src: Any, dst: Any) -> None:
        if str(dst).endswith("elasticsearch.yml"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_yml)
    with pytest.raises(LocalFilesError, match=r"elasticsearch\.yml.*no space left"):
        provider.create(bundle(tmp_path / "out" / "node"))
    # The key committed before the failure is removed again, with the directories created.
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- update


def test_update_replaces_atomically_and_only_changed_files(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "n"
    olds = cast(dict[str, Any], provider.create(bundle(node)).outs)
    key_inode = (node / "certs" / "node.key").stat().st_ino
    cert_stat = (node / "certs" / "node.crt").stat()

    new_key = KEY_PEM.replace("MIGH", "NEWK")
    news = bundle(node, **{"certs/node.key": {"content": new_key, "mode": "0600"}})
    outs = cast(dict[str, Any], provider.update(str(node), olds, news).outs)

    key = node / "certs" / "node.key"
    assert key.read_text() == new_key and mode_of(key) == 0o600
    assert key.stat().st_ino != key_inode  # a new file renamed over the old one, not rewritten
    after = (node / "certs" / "node.crt").stat()
    # Unchanged files are not touched, so Elasticsearch does not reload them for nothing.
    assert (after.st_ino, after.st_mtime_ns) == (cert_stat.st_ino, cert_stat.st_mtime_ns)
    assert outs["digests"]["certs/node.key"] == sha256(new_key)
    assert leftovers(tmp_path) == []


def test_failure_mid_update_leaves_the_old_file_intact(
    provider: LocalFilesProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = tmp_path / "n"
    olds = cast(dict[str, Any], provider.create(bundle(node)).outs)

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_replace)
    news = bundle(node, **{"certs/node.key": {"content": "half-written?", "mode": "0600"}})
    with pytest.raises(LocalFilesError) as failure:
        provider.update(str(node), olds, news)

    assert str(node / "certs" / "node.key") in str(failure.value)
    assert (node / "certs" / "node.key").read_text() == KEY_PEM
    assert mode_of(node / "certs" / "node.key") == 0o600
    assert leftovers(tmp_path) == []


def test_failure_after_some_renames_leaves_no_temp_file(
    provider: LocalFilesProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = tmp_path / "n"
    olds = cast(dict[str, Any], provider.create(bundle(node)).outs)
    real_replace = os.replace
    renamed: list[Any] = []

    def replace_once(src: Any, dst: Any) -> None:
        if renamed:
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)
        renamed.append(dst)

    monkeypatch.setattr(os, "replace", replace_once)
    news = bundle(node, **{"certs/node.crt": {"content": "renewed", "mode": "0644"},
                           "certs/node.key": {"content": "rotated", "mode": "0600"}})
    with pytest.raises(LocalFilesError, match=r"cannot replace '.*node\.key'"):
        provider.update(str(node), olds, news)
    # Renamed in sorted order: the certificate made it, the key stayed; no temp file is left.
    assert renamed == [str(node / "certs" / "node.crt")]
    assert (node / "certs" / "node.key").read_text() == KEY_PEM
    assert leftovers(tmp_path) == []


def test_failure_while_staging_leaves_no_temp_file_and_the_old_file(
    provider: LocalFilesProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = tmp_path / "n"
    olds = cast(dict[str, Any], provider.create(bundle(node)).outs)

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    news = bundle(node, **{"certs/node.crt": {"content": "renewed", "mode": "0644"}})
    with pytest.raises(LocalFilesError, match=r"cannot write '.*node\.crt'"):
        provider.update(str(node), olds, news)
    assert (node / "certs" / "node.crt").read_text() == CERT_PEM
    assert leftovers(tmp_path) == []


def test_update_removes_files_that_left_the_set(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "n"
    extra = {"content": "old CA\n", "mode": "0644"}
    olds = cast(dict[str, Any], provider.create(bundle(node, **{"ca/old.crt": extra})).outs)
    assert (node / "ca" / "old.crt").exists()

    outs = cast(dict[str, Any], provider.update(str(node), olds, bundle(node)).outs)

    assert not (node / "ca").exists()  # the emptied subdirectory goes too
    assert sorted(p.relative_to(node).as_posix() for p in node.rglob("*") if p.is_file()) == [
        "certs/node.crt",
        "certs/node.key",
        "elasticsearch.yml",
    ]
    assert "ca/old.crt" not in outs["modes"] and "ca/old.crt" not in outs["digests"]


def test_mode_change_is_applied(provider: LocalFilesProvider, tmp_path: Path) -> None:
    node = tmp_path / "n"
    olds = cast(dict[str, Any], provider.create(bundle(node)).outs)
    news = bundle(node, **{"elasticsearch.yml": {"content": YML, "mode": "0640"}})
    provider.update(str(node), olds, news)
    assert mode_of(node / "elasticsearch.yml") == 0o640


# --------------------------------------------------------------------------- diff and read


def test_diff_detects_content_and_mode_changes_as_updates(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "n"
    olds = cast(dict[str, Any], provider.create(bundle(node)).outs)

    same = provider.diff(str(node), olds, bundle(node))
    assert same.changes is False and not same.replaces

    content = bundle(node, **{"certs/node.crt": {"content": "renewed", "mode": "0644"}})
    assert provider.diff(str(node), olds, content).changes is True
    assert provider.diff(str(node), olds, content).replaces == []
    assert changed_files(olds, content) == ["certs/node.crt"]

    mode = bundle(node, **{"certs/node.key": {"content": KEY_PEM, "mode": "0644"}})
    assert provider.diff(str(node), olds, mode).changes is True
    assert changed_files(olds, mode) == ["certs/node.key"]

    dropped = bundle(node)
    del dropped["files"]["elasticsearch.yml"]
    assert changed_files(olds, dropped) == ["elasticsearch.yml"]


def test_diff_on_unknown_content_at_preview_reports_a_change(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    olds = cast(dict[str, Any], provider.create(bundle(tmp_path / "n")).outs)
    news = bundle(tmp_path / "n")
    news["files"]["certs/node.crt"]["content"] = UNKNOWN
    assert provider.diff("n", olds, news).changes is True
    assert changed_files(olds, news) == ["certs/node.crt"]
    assert provider.diff("n", olds, {"directory": str(tmp_path / "n"), "files": UNKNOWN}).changes
    assert provider.check({}, news).failures == []


def test_diff_replaces_when_the_directory_moves(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    olds = cast(dict[str, Any], provider.create(bundle(tmp_path / "a")).outs)

    moved = provider.diff("a", olds, bundle(tmp_path / "b"))
    assert moved.changes and moved.replaces == ["directory"]
    assert moved.delete_before_replace is False  # disjoint trees: create the new, then delete

    nested = provider.diff("a", olds, bundle(tmp_path / "a" / "sub"))
    assert nested.replaces == ["directory"]
    assert nested.delete_before_replace is True  # the old delete must not eat the new files

    respelled = provider.diff("a", olds, bundle(f"{tmp_path}/./x/../a/"))
    assert respelled.changes is False and not respelled.replaces

    (tmp_path / "link").symlink_to(tmp_path / "a")
    aliased = provider.diff("a", olds, bundle(tmp_path / "link"))
    assert aliased.changes is True and not aliased.replaces  # same place: update in place


def test_read_reports_drift_and_the_next_update_restores_it(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "n"
    inputs = bundle(node)
    outs = cast(dict[str, Any], provider.create(inputs).outs)

    (node / "elasticsearch.yml").write_text("xpack.security.transport.ssl.enabled: false\n")
    (node / "certs" / "node.crt").unlink()
    os.chmod(node / "certs" / "node.key", 0o644)

    refreshed = provider.read(str(node), outs)
    assert refreshed.id == str(node)
    assert refreshed.outs is not None
    assert "certs/node.crt" not in refreshed.outs["modes"]  # missing file: absent from outputs
    assert "certs/node.crt" not in refreshed.outs["digests"]
    assert refreshed.outs["modes"]["certs/node.key"] == "0644"
    assert refreshed.outs["digests"]["elasticsearch.yml"] != sha256(YML)

    diff = provider.diff(str(node), refreshed.outs, inputs)
    assert diff.changes is True and not diff.replaces
    assert changed_files(refreshed.outs, inputs) == [
        "certs/node.crt",
        "certs/node.key",
        "elasticsearch.yml",
    ]

    restored = provider.update(str(node), refreshed.outs, inputs)
    assert restored.outs == outs
    assert (node / "elasticsearch.yml").read_text() == YML
    assert (node / "certs" / "node.crt").read_text() == CERT_PEM
    assert mode_of(node / "certs" / "node.key") == 0o600
    assert provider.diff(str(node), restored.outs, inputs).changes is False


def test_read_of_a_missing_directory_reports_no_files(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "gone"
    outs = cast(dict[str, Any], provider.create(bundle(node)).outs)
    for path in sorted(node.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    node.rmdir()
    refreshed = provider.read(str(node), outs)
    assert refreshed.outs == {"directory": str(node), "modes": {}, "digests": {}}


def test_read_treats_a_symlink_in_place_of_a_file_as_drift(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "n"
    outs = cast(dict[str, Any], provider.create(bundle(node)).outs)
    key = node / "certs" / "node.key"
    key.unlink()
    key.symlink_to(tmp_path / "elsewhere")
    refreshed = provider.read(str(node), outs)
    assert refreshed.outs is not None and "certs/node.key" not in refreshed.outs["modes"]
    provider.update(str(node), refreshed.outs, bundle(node))
    assert not key.is_symlink() and key.read_text() == KEY_PEM


# --------------------------------------------------------------------------- delete


def test_delete_removes_its_files_and_empty_dirs_but_not_foreign_files(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    node = tmp_path / "cluster" / "node-1"
    outs = cast(dict[str, Any], provider.create(bundle(node)).outs)
    foreign = node / "certs" / "operator-notes.txt"
    foreign.write_text("not ours\n")

    provider.delete(str(node), outs)

    assert foreign.read_text() == "not ours\n"
    assert sorted(p.relative_to(node).as_posix() for p in node.rglob("*")) == [
        "certs",
        "certs/operator-notes.txt",
    ]

    foreign.unlink()
    provider.delete(str(node), outs)  # files already gone: fine, and now the dirs are empty
    assert not node.exists()
    assert (tmp_path / "cluster").is_dir()  # the parent may hold sibling nodes: left alone


# --------------------------------------------------------------------------- check


@pytest.mark.parametrize(
    ("files", "prop", "message"),
    [
        ({"../x": {"content": "", "mode": "0644"}}, "files['../x']", "'..' is not allowed"),
        ({"certs/../../x": {"content": "", "mode": "0644"}}, "files['certs/../../x']", "'..'"),
        ({"/etc/passwd": {"content": "", "mode": "0644"}}, "files['/etc/passwd']", "absolute"),
        ({"": {"content": "", "mode": "0644"}}, "files['']", "non-empty"),
        ({"a": {"content": "", "mode": "644"}}, "files['a'].mode", "4-digit octal"),
        ({"a": {"content": "", "mode": "0x44"}}, "files['a'].mode", "4-digit octal"),
        ({"a": {"content": "", "mode": "0800"}}, "files['a'].mode", "4-digit octal"),
        ({"a": {"content": "", "mode": 420}}, "files['a'].mode", "4-digit octal"),
        ({"a": {"content": "", "mode": "4755"}}, "files['a'].mode", "setuid"),
        ({"a": {"content": 7, "mode": "0644"}}, "files['a'].content", "string"),
        (
            {
                "certs/a": {"content": "", "mode": "0644"},
                "./certs//a": {"content": "", "mode": "0644"},
            },
            "files['./certs//a']",
            "same file as files['certs/a']",
        ),
        (
            {"certs": {"content": "", "mode": "0644"}, "certs/a": {"content": "", "mode": "0644"}},
            "files['certs']",
            "needs it as a directory",
        ),
    ],
)
def test_check_rejects_bad_files_naming_the_key(
    provider: LocalFilesProvider, files: dict[str, Any], prop: str, message: str
) -> None:
    result = provider.check({}, {"directory": "out/n", "files": files})
    assert [f.property for f in result.failures] == [prop]
    assert message in result.failures[0].reason and prop in result.failures[0].reason


@pytest.mark.parametrize("directory", ["", "   ", None, 3])
def test_check_rejects_a_missing_directory(provider: LocalFilesProvider, directory: Any) -> None:
    result = provider.check({}, {"directory": directory, "files": {}})
    assert [f.property for f in result.failures] == ["directory"]
    assert "directory" in result.failures[0].reason


def test_check_accepts_a_good_bundle_and_returns_inputs_untouched(
    provider: LocalFilesProvider,
) -> None:
    news = bundle("out/dev/cluster-a/node-1")
    result = provider.check({}, news)
    assert result.failures == [] and result.inputs is news


def test_create_refuses_invalid_inputs_even_without_check(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    with pytest.raises(LocalFilesError, match=r"files\['\.\./escape'\]"):
        provider.create(
            {"directory": str(tmp_path), "files": {"../escape": {"content": "x", "mode": "0644"}}}
        )
    assert not (tmp_path.parent / "escape").exists()


# --------------------------------------------------------------------------- errors


def test_directory_under_a_regular_file_is_a_clear_error(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("I am a file\n")
    with pytest.raises(LocalFilesError) as failure:
        provider.create(bundle(blocker / "node-1"))
    message = str(failure.value)
    assert (
        str(blocker) in message and "not a directory" in message and "remove or rename" in message
    )


def test_concurrent_creates_share_new_parent_directories(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    """The provider host runs steps on 4 threads: sibling nodes creating the same missing
    parents at once must all succeed (a parent made by a sibling is not "not a directory")."""
    for attempt in range(20):
        parent = tmp_path / f"try-{attempt}" / "out" / "cluster"
        nodes = [bundle(parent / f"node-{n}") for n in range(8)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(provider.create, nodes))
        assert sorted(p.name for p in parent.iterdir()) == [f"node-{n}" for n in range(8)]


def test_a_file_in_place_of_a_subdirectory_is_a_clear_error(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "certs").write_text("stray\n")
    with pytest.raises(LocalFilesError, match=r"certs'.*not a directory"):
        provider.create(bundle(tmp_path / "n"))


def test_a_directory_in_place_of_a_file_is_a_clear_error(
    provider: LocalFilesProvider, tmp_path: Path
) -> None:
    (tmp_path / "n" / "elasticsearch.yml").mkdir(parents=True)
    with pytest.raises(LocalFilesError) as failure:
        provider.create(bundle(tmp_path / "n"))
    assert "elasticsearch.yml" in str(failure.value)
    assert "directory is in the way" in str(failure.value)


def test_permission_denied_names_the_path_and_the_fix(
    provider: LocalFilesProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permission bits, so simulate what an unprivileged user gets from open(2).
    real_open = os.open

    def denied(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(LocalFilesError) as failure:
        provider.create(bundle(tmp_path / "n"))
    message = str(failure.value)
    assert str(tmp_path / "n" / "certs" / "node.crt") in message and "permission denied" in message
    certs = str(tmp_path / "n" / "certs")
    assert f"give the user running `pulumi up` write access to {certs!r}" in message
    assert not (tmp_path / "n").exists()  # the directories this create made are gone again


READ_ONLY_PROBE = """
import sys
from components.local_files import LocalFilesError, LocalFilesProvider
try:
    files = {"k": {"content": "v", "mode": "0600"}}
    LocalFilesProvider().create({"directory": sys.argv[1], "files": files})
except LocalFilesError as err:
    print(err)
"""


def run_unprivileged(script: str, *args: str) -> str:
    """Runs `script` as nobody (root ignores permission bits), or as ourselves when not root."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    done = subprocess.run(
        [*prefix, sys.executable, "-c", script, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"unprivileged interpreter unusable here: {done.stderr.strip()[-200:]}")
    return done.stdout.strip()


def test_read_only_parent_directory_is_a_clear_error() -> None:
    # Not tmp_path: pytest makes it 0700 for root, which nobody could not even traverse.
    base = Path(tempfile.mkdtemp(prefix="local-files-ro-"))
    try:
        base.chmod(0o755)
        parent = base / "ro"
        parent.mkdir(mode=0o555)
        parent.chmod(0o555)
        message = run_unprivileged(READ_ONLY_PROBE, str(parent / "node-1"))
        assert message.startswith(f"cannot create directory {str(parent / 'node-1')!r}")
        assert f"give the user running `pulumi up` write access to {str(parent)!r}" in message
        assert not (parent / "node-1").exists()
    finally:
        (base / "ro").chmod(0o755)
        shutil.rmtree(base)


# --------------------------------------------------------------------------- Pulumi integration


def test_provider_loads_in_a_fresh_process_like_the_dynamic_provider_host(tmp_path: Path) -> None:
    # `python -m pulumi.dynamic` runs with the project directory as cwd and dill.loads the
    # provider from state; prove that works and that the loaded provider behaves.
    blob = serialize_provider(LocalFilesProvider())
    script = (
        "import base64, sys, dill\n"
        "p = dill.loads(base64.b64decode(sys.argv[1]))\n"
        "bad = p.check({}, {'directory': 'x', 'files': {'../k': {'content': '', 'mode': '06'}}})\n"
        "print(type(p).__module__, type(p).__name__, bad.failures[0].property)\n"
        "p.create({'directory': sys.argv[2], 'files': {'k': {'content': 'v', 'mode': '0600'}}})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, blob, str(tmp_path / "n")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["components.local_files", "LocalFilesProvider", "files['../k']"]
    assert (tmp_path / "n" / "k").read_text() == "v"
    assert isinstance(dill.loads(base64.b64decode(blob)), LocalFilesProvider)


class EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(mocks.MockMonitor):
    """Keeps what the SDK sends, which is what the engine would receive."""

    def __init__(self, mock: pulumi.runtime.Mocks) -> None:
        super().__init__(mock)
        self.requests: list[Any] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        self.requests.append(request)
        parent: Any = super()
        return parent.RegisterResource(request)


def run_with_mocks(program: Callable[[], Any]) -> RecordingMonitor:
    # Earlier tests in the same process may have closed and unset their event loop.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        monitor = RecordingMonitor(EchoMocks())
        pulumi.runtime.set_mocks(EchoMocks(), preview=False, monitor=monitor)
        cast(Callable[[Callable[[], Any]], Callable[[], None]], pulumi.runtime.test)(program)()
        return monitor
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_resource_registers_its_provider_and_keeps_content_secret() -> None:
    seen: dict[str, Any] = {}

    def program() -> Any:
        res = LocalFiles(
            "logs-es-1-files",
            LocalFilesArgs(
                directory=pulumi.Output.from_input("out/dev/logs/es-1"),
                files={
                    "certs/node.key": LocalFileArgs(pulumi.Output.secret(KEY_PEM), "0600"),
                    "certs/node.crt": LocalFileArgs(CERT_PEM),
                },
            ),
        )

        async def inspect() -> None:
            seen["files_secret"] = await res.files.is_secret()  # type: ignore[attr-defined]
            seen["directory"] = await res.directory.future()

        return inspect()

    monitor = run_with_mocks(program)
    [request] = [r for r in monitor.requests if r.type != "pulumi:pulumi:Stack"]
    assert request.type == "pulumi-python:dynamic/es-transport-pki:LocalFiles"
    assert {"files", "digests"} <= set(request.additionalSecretOutputs)

    inputs = rpc.deserialize_properties(request.object)
    assert rpc.is_rpc_secret(inputs["files"])  # the engine receives (and stores) it encrypted
    assert rpc.unwrap_rpc_secret(inputs["files"])["certs/node.key"] == {
        "content": KEY_PEM,
        "mode": "0600",
    }
    provider = dill.loads(base64.b64decode(rpc.unwrap_rpc_secret(inputs["__provider"])))
    assert isinstance(provider, LocalFilesProvider)

    assert seen == {"files_secret": True, "directory": "out/dev/logs/es-1"}


def test_resource_refuses_bad_paths_before_registering() -> None:
    with pytest.raises(ValueError, match=r"files\['/etc/passwd'\]: absolute paths"):
        LocalFiles("bad", LocalFilesArgs("out/x", {"/etc/passwd": LocalFileArgs("x")}))
