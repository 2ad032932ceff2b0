"""``aroma train``: graph encoders, the classifier, and the language model (SFT, GRPO)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, PerturbqaOption, QuietOption, UserOption,
                              fail, guard, out, perturbqa_dir, store)

train_app = typer.Typer(help="Train graph encoders, the classifier, and the language model.", no_args_is_help=True)

ConfigOption = Annotated[Optional[Path], typer.Option("--config", help="YAML or TOML training settings")]
SetOption = Annotated[Optional[list[str]], typer.Option(
    "--set", help="override settings: key=value, several after one --set (--set max_steps=2 batch_size=2 "
    "lora.rank=8); `aroma train settings` lists them with their defaults")]
# Lets `--set a=1 b=2` through: click gives each option one value, the others arrive as extra arguments.
SET_CONTEXT = {"allow_extra_args": True}
ResumeOption = Annotated[bool, typer.Option("--resume", help="continue from the last checkpoint in OUT/checkpoints")]


@train_app.command("gnn")
@guard
def train_gnn_command(
    graph: Annotated[str, typer.Option("--graph", help="gene (Gene-KG) or path (Path-KG)")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the encoder and gene embeddings")],
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 50,
    dim: Annotated[int, typer.Option("--dim", help="embedding size (AROMA: 1024)")] = 128,
    layers: Annotated[int, typer.Option("--layers", min=1)] = 2,
    conv: Annotated[str, typer.Option("--conv", help="sage or gat (AROMA: gat)")] = "sage",
    lr: Annotated[float, typer.Option("--lr")] = 0.01,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """Pretrain a heterogeneous GNN on Gene-KG or Path-KG by link prediction; save per-gene embeddings."""
    from aroma.model.gnn import EncoderConfig
    from aroma.model.graph_data import GRAPHS, load_graph
    from aroma.train.gnn import GnnTrainConfig, save_embeddings, save_encoder, train_gnn

    if graph not in GRAPHS:
        fail(f"--graph must be one of {sorted(GRAPHS)}, not {graph!r}")
    config = GnnTrainConfig(EncoderConfig(hidden=dim, out_dim=dim, layers=layers, conv=conv), epochs, lr, seed=seed)
    with store(db, user, password, database) as kg:
        bundle = load_graph(kg, graph)
    model, result, embeddings = train_gnn(bundle, graph, config, show_progress=not quiet)
    save_embeddings(out_dir / f"{graph}_embeddings.pt", bundle, graph, embeddings, result, config)
    save_encoder(out_dir / f"{graph}_encoder.pt", model)
    out.print(f"{graph}-KG link prediction: held-out AUROC {result.test_auroc:.3f} (validation {result.val_auroc:.3f}), "
              f"{result.epoch_seconds:.2f} s/epoch; embeddings in {out_dir / f'{graph}_embeddings.pt'}", highlight=False)


CellLineOption = Annotated[str, typer.Option("--cell-line", help="a dataset of the PerturbQA directory (its NAME-de.csv)")]


@train_app.command("classifier")
@guard
def train_classifier_command(
    embeddings: Annotated[Path, typer.Option("--embeddings", help="directory with gene/path(/protein)_embeddings.pt")],
    out_dir: Annotated[Path, typer.Option("--out")],
    cell_line: CellLineOption,
    perturbqa: PerturbqaOption = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """Train the fusion + 3-class head (no LLM) on the training split less validation, report PerturbQA's per-gene
    AUROC on validation per epoch and on the test split; OUT is a predictor (`aroma predict --predictor OUT`)."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.predict.base import GraphContext
    from aroma.train.classifier import ClassifierConfig, train_classifier

    data = PerturbQA(perturbqa_dir(perturbqa), seed=seed, only=[cell_line])
    with store(db, user, password, database) as kg:
        report = train_classifier(GraphContext(kg), data, cell_line, embeddings, ClassifierConfig(epochs, seed=seed),
                                  out_dir, show_progress=not quiet)
    test = report.test
    out.print(f"{report.cell_line} test: DE AUROC {test['de_auroc']:.3f} ({test['de_genes']} genes), direction AUROC "
              f"{test['direction_auroc']:.3f} ({test['direction_genes']} genes), macro-F1 {test['macro_f1']:.3f}, "
              f"{report.epoch_seconds:.1f} s/epoch; report in {out_dir / 'classifier_report.json'}", highlight=False)


@train_app.command("predictor")
@guard
def train_predictor_command(
    cell_line: CellLineOption,
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the fitted predictor")],
    method: Annotated[Optional[str], typer.Option("--method", help="a method of `aroma bench` (its table's name)",
                                                  show_default="the best on validation")] = None,
    perturbqa: PerturbqaOption = None,
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="GNN embeddings (the classifier)")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Fit a method on every training outcome of a cell line and keep it (with the graph build and the label files'
    hashes) for `aroma predict --predictor OUT`."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.predict.base import GraphContext, MethodOptions
    from aroma.predict.saved import train_predictor

    data = PerturbQA(perturbqa_dir(perturbqa), only=[cell_line])
    with store(db, user, password, database) as kg:
        fitted = train_predictor(GraphContext(kg), data, cell_line, out_dir, method,
                                 MethodOptions(embeddings=embeddings, seed=seed))
    about = fitted.about
    out.print(f"{fitted.predictor.name} for {about['cell_line']}: fit on {about['fit_pairs']:,} training pairs in "
              f"{about['fit_seconds']:.1f} s (graph build {about['checksum']}); predictor in {out_dir}", highlight=False)


def _overrides(ctx: typer.Context, override: list[str] | None) -> list[str]:
    """The ``--set`` values plus the key=value words that followed them."""
    extra = list(ctx.args)
    if extra and (not override or any("=" not in word or word.startswith("-") for word in extra)):
        bad = next((w for w in extra if "=" not in w or w.startswith("-")), extra[0])
        fail(f"unexpected argument {bad!r}: settings are key=value after --set", 2)
    return [*(override or []), *extra]


@train_app.command("settings")
def train_settings_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every SFT/GRPO setting with its default: set them in --config FILE (YAML/TOML) or with --set key=value."""
    from dataclasses import asdict

    from aroma.train.config import describe_settings

    rows = describe_settings()
    if as_json:
        sys.stdout.write(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
        return
    table = Table("setting", "default", "type", "meaning", caption="--set key=value, or a key in --config FILE")
    for row in rows:
        table.add_row(row.key, json.dumps(row.default), row.type, row.help)
    out.print(table, highlight=False)


def _summary(name: str, steps: int, train_loss: float, out_dir: Path) -> None:
    import os

    if os.environ.get("RANK", "0") != "0":  # the other processes of a data-parallel run (torchrun) stay quiet
        return
    out.print(f"{name}: {steps} steps, mean loss {train_loss:.4f}; model in {out_dir}", highlight=False)


@train_app.command("sft", context_settings=SET_CONTEXT)
@guard
def train_sft_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option("--data", help="PerturbReason dataset (from `aroma dataset generate`)")],
    base_model: Annotated[str, typer.Option("--base-model", help="local model directory, a .gguf file, or smollm2")],
    embeddings: Annotated[Path, typer.Option("--embeddings", help="directory from `aroma train gnn`")],
    out_dir: Annotated[Path, typer.Option("--out")],
    config: ConfigOption = None,
    override: SetOption = None,
    resume: ResumeOption = False,
) -> None:
    """Multimodal supervised fine-tuning (TRL SFTTrainer, LoRA on the LM, fusion trained, prompts masked)."""
    from aroma.train.config import load_settings

    settings = load_settings(config, _overrides(ctx, override))  # checked before torch and the model load
    from aroma.train.sft import run_sft

    run = run_sft(data, base_model, embeddings, out_dir, settings, resume)
    _summary("SFT", run.steps, run.train_loss, out_dir)


@train_app.command("grpo", context_settings=SET_CONTEXT)
@guard
def train_grpo_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option("--data", help="PerturbReason dataset")],
    init: Annotated[Path, typer.Option("--init", help="model directory from `aroma train sft`")],
    out_dir: Annotated[Path, typer.Option("--out")],
    config: ConfigOption = None,
    override: SetOption = None,
    resume: ResumeOption = False,
) -> None:
    """GRPO (TRL GRPOTrainer) with format, label, correctness (+5/−1) and evidence-grounding rewards."""
    from aroma.train.config import load_settings

    settings = load_settings(config, _overrides(ctx, override))  # checked before torch and the model load
    from aroma.train.grpo import run_grpo

    run = run_grpo(data, init, out_dir, settings, resume)
    _summary("GRPO", run.steps, run.train_loss, out_dir)
