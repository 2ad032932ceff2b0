"""The robustness curves of one report as a PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from aroma.dismantle.runner import POLISHED, DismantleReport  # noqa: E402

LABELS = {"lcc": "largest component / intact", "pairwise": "connected pairs / intact",
          "reach": "genes reachable from a receptor / intact"}


def plot_report(report: DismantleReport, path: Path) -> Path:
    """Objective against the share of nodes removed, one line per method, R in the legend."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method in sorted(report.methods, key=lambda m: m.r):
        n = len(method.curve) - 1
        shares = [k / n for k in range(n + 1)]
        ax.plot(shares, method.curve, lw=2.2 if method.method.startswith("agent") else 1.2,
                ls="--" if method.method.endswith(POLISHED) else "-", label=f"{method.method} (R = {method.r:.4f})")
    ax.set_xlabel("share of genes knocked down")
    ax.set_ylabel(LABELS[report.objective])
    ax.set_title(f"{report.meta.get('pathway_name', report.network)}: {report.nodes} genes, {report.edges} edges")
    n = len(report.methods[0].curve) - 1
    floor = min(min(m.curve[1:-1] or [0.0]) for m in report.methods) + 1e-9  # lowest value before the last node
    last = max(next((k for k, v in enumerate(m.curve) if v <= floor), n) for m in report.methods)
    ax.set_xlim(0, min(1.0, 1.1 * last / n + 0.02))
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
