"""Certificate timelines: a validity bar per CA generation and node certificate, its
renew-before window shaded, and a line at today. PNG or SVG, by the file's suffix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

# A bare Figure renders to files on its own: no pyplot, no GUI backend, nothing global.
from matplotlib.figure import Figure

from preflight.inventory.rows import CertRow

WIDTH_INCHES = 11.0
ROW_INCHES = 0.35
MARGIN_INCHES = 1.6
DPI = 100
FORMATS = (".png", ".svg")


def figure_size(rows: int) -> tuple[float, float]:
    return WIDTH_INCHES, MARGIN_INCHES + ROW_INCHES * rows


def label(row: CertRow) -> str:
    who = f"CA g{row.generation}" if row.is_ca else f"{row.name} (g{row.generation})"
    return f"{row.cluster} · {who}"


def picture_path(value: str | Path) -> Path:
    """`value` as the path of a picture `draw` can write (by its suffix)."""
    path = Path(value)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: the picture must be .png or .svg")
    return path


def draw(rows: Sequence[CertRow], path: Path, now: datetime) -> None:
    path = picture_path(path)
    figure = Figure(figsize=figure_size(len(rows)), dpi=DPI)
    axes = figure.add_subplot()

    def days(moment: datetime) -> float:
        return (moment - now) / timedelta(days=1)

    for index, row in enumerate(reversed(rows)):
        start, due, end = days(row.not_before), days(row.renewal_due), days(row.not_after)
        colour = "tab:purple" if row.is_ca else "tab:blue"
        axes.barh(index, due - start, left=start, height=0.6, color=colour)
        axes.barh(index, end - due, left=due, height=0.6, color="tab:orange",
                  label="renew-before window" if index == 0 else None)
    axes.axvline(0.0, color="tab:red", linestyle="--", label=f"today {now:%Y-%m-%d}")
    axes.set_xlabel(f"days from today ({now:%Y-%m-%d})")
    axes.set_yticks(range(len(rows)), [label(r) for r in reversed(rows)])
    axes.set_title("Transport certificates: validity and renew-before windows")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    # Fixed canvas size: tight_layout arranges inside it, no bbox cropping.
    figure.savefig(path, dpi=DPI)
