"""How ``aroma kg stats`` shows a graph's statistics: rich tables and one line per note."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from aroma.kg.stats import GraphStats


def stats_tables(stats: GraphStats) -> list[RenderableType]:
    """Nodes and edges, then (for a graph with build information) sources, unmapped records and the build."""
    nodes = Table(title=f"Nodes ({stats.node_total:,})")
    nodes.add_column("label")
    nodes.add_column("count", justify="right")
    for label, count in stats.nodes.items():
        nodes.add_row(label, f"{count:,}")
    edges = Table(title=f"Edges ({stats.edge_total:,})")
    for column in ("source", "type", "target"):
        edges.add_column(column)
    edges.add_column("count", justify="right")
    for row in stats.edges:
        edges.add_row(row["source"], row["type"], row["target"], f"{row['count']:,}")
    shown: list[RenderableType] = [nodes, edges]
    build = stats.build
    if not build:
        return shown
    sources = Table(title="Sources")
    for column in ("source", "version", "bytes", "sha256", "records", "unmapped"):
        sources.add_column(column, justify="right" if column in ("bytes", "records", "unmapped") else "left")
    mappings = build.get("mappings", {})
    for key, info in build.get("sources", {}).items():
        mapping = mappings.get(key, {})
        sources.add_row(key, str(info.get("version") or "-"), f"{info['bytes']:,}",
                        info["sha256"][:12], f"{mapping.get('records', 0):,}" if mapping else "-",
                        f"{mapping.get('unmapped', 0):,}" if mapping else "-")
    shown.append(sources)
    for key, mapping in mappings.items():
        for reason, count in mapping.get("reasons", {}).items():
            shown.append(Text(f"  unmapped {key}: {count:,} × {reason} "
                              f"(e.g. {'; '.join(mapping['examples'][reason][:3])})"))
    threshold = build.get("string_min_score")
    shown.append(Text("STRING minimum combined score: " + (
        "not recorded (graph built before thresholds)" if threshold is None
        else f"{threshold} ({build.get('string_below_min_score') or 0:,} links below it not loaded)")))
    shown.append(Text(f"built {build['finished_at']} in {build['seconds']} s (stages: {build.get('stage_seconds')}), "
                      f"database {stats.database}, checksum {build['checksum']}"))
    return shown
