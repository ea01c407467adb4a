"""Holds a #cloud-config document to the installed cloud-init, run by the system Python that
cloud-init is installed for (Debian: /usr/bin/python3, package cloud-init); the tests in
tests/test_cloud_init_real.py call it in a subprocess and read the JSON it prints.

  oracle.py schema DOC...   each document through `cloud-init schema --config-file`'s own
                            check (header, YAML, the schema), with the deprecations apart
  oracle.py apply [--no-chown] DOC ROOT
                            DOC as cloud-init consumes user-data (its user-data processor and
                            cloud-config part handler, stored as the instance's cloud_config.txt
                            and read back), then its write_files module (init stage) and
                            write_files_deferred module (final stage) as the stages call them;
                            what is under ROOT before and after each, and every warning
                            cloud-init logged. --no-chown: not root, so leave out the chown
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import io
import json
import logging
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from cloudinit import distros, helpers, safeyaml, user_data, util, version
from cloudinit.cloud import Cloud
from cloudinit.config import cc_write_files, cc_write_files_deferred
from cloudinit.config.schema import (
    SchemaValidationError,
    get_schema,
    validate_cloudconfig_file,
    validate_cloudconfig_schema,
)
from cloudinit.handlers import CONTENT_END, CONTENT_START
from cloudinit.handlers.cloud_config import CloudConfigPartHandler

SYSTEM_CONFIG = "/etc/cloud/cloud.cfg"


def _problems(error: SchemaValidationError) -> dict[str, list[str]]:
    return {
        "errors": [f"{p.path}: {p.message}" for p in error.schema_errors or ()],
        "deprecations": [f"{p.path}: {p.message}" for p in error.schema_deprecations or ()],
    }


def schema(documents: list[str]) -> dict[str, Any]:
    full = get_schema()
    write_files = full["$defs"]["cc_write_files"]["properties"]["write_files"]["items"]
    report: dict[str, Any] = {
        "version": version.version_string(),
        "write_files_keys": {key: {k: v for k, v in spec.items() if k != "description"}
                             for key, spec in write_files["properties"].items()},
        "documents": {},
    }
    for document in documents:
        result: dict[str, list[str]] = {"errors": [], "deprecations": []}
        printed = io.StringIO()
        try:
            # What `cloud-init schema --config-file DOC` runs: it raises on errors and only
            # prints deprecations.
            with contextlib.redirect_stdout(printed):
                validate_cloudconfig_file(document, full)
        except SchemaValidationError as e:
            result = _problems(e)
        except RuntimeError as e:
            result["errors"].append(str(e))
        if not result["errors"]:
            try:
                validate_cloudconfig_schema(safeyaml.load(Path(document).read_bytes()), full,
                                            strict=True)
            except SchemaValidationError as e:
                result = _problems(e)
        result["printed"] = [printed.getvalue()] if printed.getvalue().strip() else []
        report["documents"][document] = result
    return report


class _Instance:
    """The one thing cloud-init's paths ask of a datasource here."""

    def get_instance_id(self) -> str:
        return "i-es-transport-pki-test"


def consumed(document: str, paths: helpers.Paths) -> dict[str, Any]:
    """The config cloud-init's modules get from user-data `document`: processed into MIME parts,
    merged by the cloud-config part handler into the instance's cloud_config.txt
    (Init.consume_data), and read back from there."""
    message = user_data.UserDataProcessor(paths).process(Path(document).read_bytes())
    handler = CloudConfigPartHandler(paths)
    handler.handle_part(None, CONTENT_START, None, None, None, None)
    parts = 0
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        if part.get_content_type() != "text/cloud-config":
            raise SystemExit(f"user-data part of type {part.get_content_type()}, "
                             "not text/cloud-config")
        parts += 1
        handler.handle_part(None, part.get_content_type(), part.get_filename() or "part-001",
                            util.fully_decoded_payload(part), None, dict(part.items()))
    if parts != 1 or handler.cloud_buf is None:
        raise SystemExit(f"expected one cloud-config part, got {parts}")
    handler.handle_part(None, CONTENT_END, None, None, None, None)
    config: dict[str, Any] = util.read_conf(paths.get_ipath("cloud_config"))
    return config


def tree(root: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        entry: dict[str, Any] = {"mode": f"{stat.S_IMODE(st.st_mode):04o}", "uid": st.st_uid,
                                 "gid": st.st_gid}
        if stat.S_ISREG(st.st_mode):
            entry["content"] = base64.b64encode(path.read_bytes()).decode("ascii")
        elif stat.S_ISDIR(st.st_mode):
            entry["dir"] = True
        else:
            entry["other"] = True
        found[path.relative_to(root).as_posix()] = entry
    return found


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def _handle(module: Any, name: str, config: dict[str, Any], cloud: Cloud,
            log: logging.Logger) -> None:
    """A module's handle() as the stages call it: (name, cfg, cloud, log, args) up to 22.x,
    (name, cfg, cloud, args) from 23.2 on."""
    if "log" in inspect.signature(module.handle).parameters:
        module.handle(name, config, cloud, log, [])
    else:
        module.handle(name, config, cloud, [])


def apply(document: str, root: Path, chown: bool) -> dict[str, Any]:
    warnings = _Warnings()
    logging.getLogger().addHandler(warnings)
    logging.getLogger().setLevel(logging.DEBUG)
    log = logging.getLogger("cloudinit")
    os.umask(0o022)  # systemd's default for cloud-init's services
    if not chown:
        util.chownbyid = lambda *_args: None
    stages = util.read_conf(SYSTEM_CONFIG)
    with tempfile.TemporaryDirectory() as state:
        paths = helpers.Paths({"cloud_dir": f"{state}/lib", "run_dir": f"{state}/run"},
                              ds=_Instance())
        config = consumed(document, paths)
        distro = distros.fetch("debian")("debian", {}, paths)
        cloud = Cloud(None, paths, config, distro, None)
        report: dict[str, Any] = {
            "version": version.version_string(),
            "stages": {name: stages.get(name, []) for name in
                       ("cloud_init_modules", "cloud_config_modules", "cloud_final_modules")},
            "before": tree(root),
        }
        _handle(cc_write_files, "write_files", config, cloud, log)
        report["init"] = tree(root)
        _handle(cc_write_files_deferred, "write_files_deferred", config, cloud, log)
        report["final"] = tree(root)
    report["warnings"] = warnings.messages
    return report


def main(argv: list[str]) -> None:
    if argv[:1] == ["schema"]:
        print(json.dumps(schema(argv[1:])))
    elif argv[:1] == ["apply"] and len(argv) in (3, 4) and argv[1:-2] in ([], ["--no-chown"]):
        print(json.dumps(apply(argv[-2], Path(argv[-1]), chown=argv[1] != "--no-chown")))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
