"""How ``aroma dismantle run`` shows a report: the methods' R and first knockdowns, and the PerturbQA check."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from aroma.dismantle.runner import DismantleReport


def report_tables(report: DismantleReport) -> list[RenderableType]:
    title = (f"{report.meta.get('pathway_name', report.network)}: {report.nodes:,} genes, {report.edges:,} edges, "
             f"objective {report.objective} (R: lower is a better attack)")
    table = Table(title=title)
    for column in ("method", "R", "first knockdowns", "seconds"):
        table.add_column(column, justify="right" if column in ("R", "seconds") else "left")
    for method in sorted(report.methods, key=lambda m: m.r):
        table.add_row(method.method, f"{method.r:.4f}", ", ".join(method.order[:8]), f"{method.seconds:.2f}")
    shown: list[RenderableType] = [table]
    for skipped, why in report.meta.get("skipped", {}).items():
        shown.append(Text(f"{skipped} skipped: {why}", style="dim"))
    for cell_line, rows in report.perturbqa.items():
        check = Table(title=f"{cell_line}: Spearman ρ, removal step vs share of targets changed (train split)")
        for column in ("method", "genes", "rho", "p"):
            check.add_column(column)
        for method, row in rows.items():
            rho = "n/a" if row["rho"] is None else f"{row['rho']:+.3f}"
            p = "n/a" if row["p"] is None else f"{row['p']:.2g}"
            check.add_row(method, str(row["genes"]), rho, p)
        shown.append(check)
    return shown
