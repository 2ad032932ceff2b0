"""``aroma dismantle``: train attack agents and dismantle pathways, gene lists, TRRUST or the whole Gene-KG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from aroma import config
from aroma.cli.common import DatabaseOption, DbOption, PasswordOption, QuietOption, UserOption, guard, out, store
from aroma.errors import AromaError

dismantle_app = typer.Typer(help="Learn which knockdowns break a gene network (deep Q-learning).",
                            no_args_is_help=True)
dismantle_guard = guard(stopped="the last checkpoint is kept (--resume continues)")


def _threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


@dismantle_app.command("train")
@dismantle_guard
def train_command(
    out_dir: Annotated[Path, typer.Option("--out", help="agent directory (agent.pt, checkpoint.pt, train_log.json)")],
    objective: Annotated[str, typer.Option("--objective", help="lcc, pairwise or reach")] = "lcc",
    episodes: Annotated[int, typer.Option("--episodes", min=0, help="DQN episodes (0: pre-training on the "
                                                                    "demonstrations only)")] = 1500,
    min_nodes: Annotated[int, typer.Option("--min-nodes", min=4)] = 30,
    max_nodes: Annotated[int, typer.Option("--max-nodes", min=4)] = 60,
    kinds: Annotated[str, typer.Option("--kinds", help="synthetic graph families: ba, er, ws")] = "ba,er,ws",
    eps_decay: Annotated[Optional[int], typer.Option("--eps-decay", help="episodes over which ε falls from 1 to "
                                                     "0.05", show_default="half of --episodes")] = None,
    n_step: Annotated[int, typer.Option("--n-step", min=1)] = 3,
    lr: Annotated[float, typer.Option("--lr")] = 2.5e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    hidden: Annotated[int, typer.Option("--hidden", min=4)] = 64,
    layers: Annotated[int, typer.Option("--layers", min=1)] = 3,
    real_pathways: Annotated[int, typer.Option("--real-pathways", help="also train on this many Gene-KG pathway "
                                               "subgraphs (training split only; needs --db)")] = 0,
    real_share: Annotated[float, typer.Option("--real-share", help="share of episodes on them")] = 0.3,
    val_pathways: Annotated[int, typer.Option("--val-pathways", help="keep the weights that score best on this "
                                              "many Gene-KG pathways of the validation split (needs --db; 0: "
                                              "synthetic validation graphs)")] = 0,
    features: Annotated[str, typer.Option("--features", help="node feature set: v2 (with the one-step drop, "
                                          "collective influence, exact betweenness), v3 (v2 with tied values "
                                          "sharing a rank) or v1")] = "v2",
    double: Annotated[bool, typer.Option("--double/--no-double", help="double DQN targets")] = True,
    reward_scale: Annotated[float, typer.Option("--reward-scale", help="rewards times this")] = 10.0,
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="gene_embeddings.pt from "
                                                       "`aroma train gnn --graph gene` as extra node inputs")] = None,
    demonstrations: Annotated[str, typer.Option("--demonstrations", help="DQfD: pre-train on episodes of these "
                                                "policies (betweenness, greedy, degree, influence; beam: a beam search "
                                                "over betweenness and greedy; "
                                                "the best per training graph is kept), then keep a share of them "
                                                "in every batch; empty: off")] = "",
    beam_width: Annotated[int, typer.Option("--beam-width", min=1, help="the beam demonstrator's width")] = 24,
    beam_expand: Annotated[int, typer.Option("--beam-expand", min=1, help="candidates each partial attack of the "
                                             "beam proposes, per ranking (betweenness, one-step drop)")] = 6,
    polish: Annotated[int, typer.Option("--polish", min=0, help="sweeps of local search over each "
                                        "demonstrator's episode (move one knockdown earlier while R falls); 0: off")] = 0,
    members: Annotated[int, typer.Option("--members", min=1, help="an ensemble of this many Q-networks (seeds "
                                         "SEED, SEED+1, ...; one set of demonstrations; Q is their mean)")] = 1,
    demo_graphs: Annotated[int, typer.Option("--demo-graphs", min=1, help="training graphs demonstrated")] = 200,
    pretrain_steps: Annotated[int, typer.Option("--pretrain-steps", min=0)] = 1000,
    demo_share: Annotated[float, typer.Option("--demo-share", help="share of each batch from the demonstrations "
                                              "after pre-training")] = 0.25,
    margin: Annotated[float, typer.Option("--margin", help="large-margin loss's margin (scaled reward units)")] = 0.1,
    eps_start: Annotated[float, typer.Option("--eps-start", help="ε of the first episode")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="continue from OUT/checkpoint.pt")] = False,
    threads: Annotated[int, typer.Option("--threads", min=1)] = 1,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """Train one DQN agent for one objective on synthetic (and optionally Gene-KG) graphs."""
    from aroma.dismantle.agent import QConfig
    from aroma.dismantle.train import TrainConfig, train

    _threads(threads)
    if episodes == 0 and not demonstrations.strip():
        raise AromaError("--episodes 0 trains nothing without --demonstrations (it means pre-training only)")
    if min_nodes > max_nodes:
        raise AromaError(f"--min-nodes {min_nodes} is larger than --max-nodes {max_nodes}")
    real, validation = [], []
    if real_pathways or val_pathways or embeddings:
        from aroma.dismantle.readers import attach_embeddings, split_pathways

        with store(db, user, password, database) as kg:
            real = split_pathways(kg, real_pathways, seed)
            validation = split_pathways(kg, val_pathways, seed, split="validation")
        if embeddings:
            real = [attach_embeddings(network, embeddings) for network in real]
            validation = [attach_embeddings(network, embeddings) for network in validation]
    width = real[0].embeddings.shape[1] if embeddings and real else 0
    settings = TrainConfig(objective=objective, episodes=episodes, min_nodes=min_nodes, max_nodes=max_nodes,
                           kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()), n_step=n_step, lr=lr,
                           eps_decay_episodes=eps_decay or max(1, episodes // 2),
                           batch_size=batch_size, real_share=real_share if real else 0.0, seed=seed,
                           double=double, reward_scale=reward_scale, eps_start=eps_start,
                           demonstrations=tuple(d.strip() for d in demonstrations.split(",") if d.strip()),
                           demo_graphs=demo_graphs, pretrain_steps=pretrain_steps, demo_share=demo_share,
                           margin=margin, beam_width=beam_width, beam_expand=beam_expand, polish_passes=polish,
                           members=members,
                           validation_graphs=len(validation) or TrainConfig.validation_graphs,
                           q=QConfig(objective=objective, hidden=hidden, layers=layers, embedding_dim=width,
                                     features=features))
    summary = train(settings, out_dir, resume=resume, real=real, show_progress=not quiet,
                    validation=validation or None)
    out.print(f"{objective} agent: best validation R {summary['best_validation_r']:.4f} after "
              f"{summary['episodes']} episodes ({summary['seconds_this_run']:.0f} s); saved in {out_dir / 'agent.pt'}",
              highlight=False)


@dismantle_app.command("run")
@dismantle_guard
def run_command(
    agent_dir: Annotated[Optional[Path], typer.Option("--agent", help="trained agent directory")] = None,
    pathway: Annotated[Optional[str], typer.Option("--pathway", help="Reactome id, e.g. R-HSA-109581")] = None,
    hallmark: Annotated[Optional[str], typer.Option("--hallmark", help="MSigDB hallmark, e.g. APOPTOSIS")] = None,
    genes: Annotated[Optional[str], typer.Option("--genes", help="comma-separated official symbols")] = None,
    graph: Annotated[Optional[str], typer.Option("--graph", help="gene-kg (all of STRING) or trrust")] = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="lcc, pairwise or reach",
                                                     show_default="the agent's")] = None,
    baselines: Annotated[str, typer.Option("--baselines", help="comma-separated, or none")] = (
        "degree,adaptive_degree,adaptive_betweenness,collective_influence,random"),
    min_score: Annotated[int, typer.Option("--min-score", help="lowest STRING combined score kept")] = 400,
    step_fraction: Annotated[float, typer.Option("--step-fraction", help="share of nodes the agent removes per "
                                                 "step (at least one)")] = 0.01,
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="gene_embeddings.pt, for an agent "
                                                       "trained with embeddings")] = None,
    cell_lines: Annotated[list[str], typer.Option("--cell-line", help="PerturbQA check on these cell lines "
                                                  "(training split only)")] = [],
    perturbqa: Annotated[Optional[Path], typer.Option("--perturbqa", help="PerturbQA directory",
                                                      show_default="$AROMA_DATA/perturbqa")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="directory for dismantle.json and the PNG",
                                                    show_default="runs/dismantle/NETWORK")] = None,
    polish: Annotated[int, typer.Option("--polish", min=0, help="also each method's order improved by this many "
                                        "sweeps of local search (METHOD+polish; up to 2,000 genes)")] = 0,
    plan_width: Annotated[int, typer.Option("--plan", min=0, help="also the agent planning with a Q-guided beam of "
                                            "this width (agent+plan; up to 2,000 genes)")] = 0,
    plan_expand: Annotated[int, typer.Option("--plan-expand", min=1, help="top-Q knockdowns each partial attack "
                                             "of the plan proposes")] = 4,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    threads: Annotated[int, typer.Option("--threads", min=1)] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Knockdown order, robustness curve and R of the agent beside the baselines, as JSON, a table and a PNG."""
    from aroma.dismantle import readers
    from aroma.dismantle.agent import Agent
    from aroma.dismantle.plot import plot_report
    from aroma.dismantle.runner import (compare, default_out_dir, knockdown_effects, removal_correlation,
                                        save_report)
    from aroma.dismantle.tables import report_tables

    _threads(threads)
    choice = readers.NetworkChoice(pathway=pathway, hallmark=hallmark, genes=genes, graph=graph, min_score=min_score)
    choice.check()
    directory = config.perturbqa_dir(perturbqa)
    if cell_lines and directory is None:
        raise AromaError("no PerturbQA directory: pass --perturbqa DIR or set AROMA_DATA")
    if plan_width and agent_dir is None:
        raise AromaError("--plan needs a trained agent (--agent DIR)")
    agent = Agent.load(agent_dir) if agent_dir else None
    objective = objective or (agent.objective if agent else "lcc")
    with store(db, user, password, database) as kg:
        network = readers.chosen_network(kg, choice, objective)
    if embeddings:
        readers.attach_embeddings(network, embeddings)
    names = tuple(b.strip() for b in baselines.split(",") if b.strip() and b.strip() != "none")
    report = compare(network, objective, agent, names, seed, step_fraction, polish, plan_width, plan_expand)
    if cell_lines:
        report.perturbqa = {c.upper(): removal_correlation(report, knockdown_effects(directory, c))
                            for c in cell_lines}
    target = out_dir or default_out_dir(network)
    json_path = save_report(report, target)
    png_path = plot_report(report, target / "dismantle.png")
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    for shown in report_tables(report):
        out.print(shown)
    out.print(f"report: {json_path}  plot: {png_path}", highlight=False)
