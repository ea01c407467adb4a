"""Feed a recorded program run to the policy pack, as the engine does at `pulumi preview`."""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.analyzer import (
    UNKNOWN,
    Diagnostic,
    PolicyAnalyzer,
    Record,
    Values,
    secret,
)
from harness.mock_runtime import Recording, Registration, Secret, Sent, Unknown, detached
from harness.pack_process import DEFAULT_PACK, PackProcess


def to_wire(value: Any) -> Any:
    """The engine's encoding of a recorded value: `Secret` → secret signature, unknowns → the
    unknown sentinel (the inverse of `harness.mock_runtime.from_wire`)."""
    if isinstance(value, Secret):
        return secret(to_wire(value.value))
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


def to_record(registration: Registration) -> Record:
    """What the engine sends for a registration. Only what is final when it is registered:
    inputs, and the outputs of custom resources (a component's outputs come later, through
    RegisterResourceOutputs, and are not sent), so it can be converted as it arrives."""
    outputs = to_wire(registration.outputs) if registration.custom else None
    return _record(registration, to_wire(registration.inputs), outputs)


def wire_record(sent: Sent) -> Record:
    """`to_record`, with the values as they went over the wire: the same requests, built
    without encoding every value again (what `StreamedPolicies` sends). The record is kept
    for AnalyzeStack, so it keeps a copy of the request's inputs, not the whole request."""
    registration = sent.registration
    outputs = sent.response_object if registration.custom else None
    return _record(registration, detached(sent.request_object), outputs)


def _record(registration: Registration, inputs: Values, outputs: Values | None) -> Record:
    return Record(
        type=registration.type,
        name=registration.name,
        urn=registration.urn,
        properties=inputs,
        parent=registration.parent,
        dependencies=tuple(registration.dependencies),
        property_dependencies=registration.property_dependencies,
        outputs=outputs,
        protect=bool(registration.protect),
    )


def records_of(recording: Recording) -> list[Record]:
    return [to_record(r) for r in recording.registrations]


def run_policies(
    records: Sequence[Record], *, stack: str, config: Mapping[str, Any] | None = None,
    pack_dir: Path = DEFAULT_PACK,
) -> list[Diagnostic]:
    """Analyze every resource, then the stack, in one pack process (one `pulumi preview`)."""
    with PolicyAnalyzer(PackProcess(pack_dir, stack=stack)) as analyzer:
        analyzer.handshake()
        analyzer.configure_stack()
        analyzer.configure(config or {})
        return analyzer.preview(records)


_CONFIGURE = object()
# Analyze calls in flight at once. One at a time, each waited out its round trip (the pack
# idle meanwhile), and the last ones were still queued when the program ended.
IN_FLIGHT = 8


class StreamedPolicies:
    """The pack judging a program while it runs, as the engine does: Analyze for each
    registration `submit`ted as the program makes it (`run_program(on_register=...)`), then
    AnalyzeStack over all of them in `finish`. Reports what `run_policies` reports for the
    same records, in the same order.

    The pack process starts on entry and boots (≈ 0.5 s, in its own process) while the
    program validates its config and builds its resources. A worker thread connects to it at
    the first registration, configures it, and sends the queued registrations to Analyze in
    order, up to `IN_FLIGHT` at once, while the program goes on (gRPC waits release the GIL);
    verdicts are collected in registration order. A program that fails before
    registering anything (a config error) never waits for the pack. Use as a context manager:
    on leaving it the worker has ended and the pack process is closed, also when the program
    raised.

    `config` is the `--policy-pack-config` JSON. The pack's errors are raised by `finish`,
    after the program: an error of the program itself still comes first, as when the pack only
    ran after it. `check_config` judges the config before the program runs instead.
    """

    def __init__(
        self, *, stack: str, config: Mapping[str, Any] | None = None,
        pack_dir: Path = DEFAULT_PACK, started: PackProcess | None = None,
    ) -> None:
        """`started`: the pack's process, started by the caller for this stack (preflight
        starts it before its imports); taken over and closed on leaving."""
        self._stack, self._config, self._pack_dir = stack, config or {}, pack_dir
        self._started = started
        # None ends the stream: analyze the stack (or, once aborted, just stop). _CONFIGURE
        # starts the pack without a registration.
        self._queue: queue.SimpleQueue[Sent | object | None] = queue.SimpleQueue()
        self._configured = threading.Event()
        self._aborted = threading.Event()
        self._worker = threading.Thread(target=self._work, name="policy-pack")
        self._diagnostics: list[Diagnostic] = []
        self._error: BaseException | None = None
        # What was analyzed, in registration order; complete once `finish` has returned.
        self.records: list[Record] = []

    def __enter__(self) -> StreamedPolicies:
        pack = self._started or PackProcess(self._pack_dir, stack=self._stack)
        self._analyzer = PolicyAnalyzer(pack, connect=False)
        try:
            self._worker.start()
        except BaseException:
            self._analyzer.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._worker.is_alive():  # `finish` was not reached: drop what is still queued
            self._aborted.set()
            self._queue.put(None)
            self._worker.join()
        self._analyzer.close()

    def submit(self, sent: Sent) -> None:
        """Queue a registration for Analyze; never blocks (`run_program` calls it under the
        monitor's lock)."""
        self._queue.put(sent)

    def check_config(self) -> None:
        """Wait until the pack has taken the config (it has booted); raises what Configure
        raised (`PolicyConfigError` for a config the engine would refuse)."""
        self._queue.put(_CONFIGURE)
        self._configured.wait()
        if self._error is not None:
            raise self._error

    def finish(self) -> list[Diagnostic]:
        """Once the program has run: every queued Analyze, then AnalyzeStack. Diagnostics per
        resource in registration order, then the stack's."""
        self._queue.put(None)
        self._worker.join()
        if self._error is not None:
            raise self._error
        return self._diagnostics

    def _work(self) -> None:
        try:
            self._serve()
        except BaseException as err:  # raised again by `finish`, on the thread that waits
            self._error = err
        finally:
            self._configured.set()

    def _serve(self) -> None:
        item = self._queue.get()
        if self._aborted.is_set():
            return
        analyzer = self._analyzer
        in_flight: deque[Callable[[], list[Diagnostic]]] = deque()
        analyzer.connect()
        analyzer.handshake()
        analyzer.configure_stack()
        analyzer.configure(self._config)
        self._configured.set()
        while item is not None:
            if self._aborted.is_set():
                return
            if isinstance(item, Sent):
                record = wire_record(item)
                self.records.append(record)
                in_flight.append(analyzer.analyze_soon(record))
                if len(in_flight) == IN_FLIGHT:
                    self._diagnostics += in_flight.popleft()()
            item = self._queue.get()
        while in_flight and not self._aborted.is_set():
            self._diagnostics += in_flight.popleft()()
        if not self._aborted.is_set():
            self._diagnostics += analyzer.analyze_stack(self.records)
