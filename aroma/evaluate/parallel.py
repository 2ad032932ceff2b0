"""The bench's datasets and phases scored in worker processes.

Each (dataset, phase) part is independent: the methods fit on its training pairs and score its own pairs. Most of
a part's time is single-threaded Python and NumPy (the neighbour and response features, the trees' prediction),
so on a 2-core machine two parts at once take about half the time of one after the other. Workers are started
fresh (``spawn``), each with its share of the cores for its thread pools, and open the graph themselves (a local
server is shared by the processes that use it); the parts come back in the order they were asked for.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, TypeAlias

from aroma.threads import choose_threads, configure_threads

if TYPE_CHECKING:
    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.bench import BenchSettings, Part
    from aroma.retrieval.knowledge import GraphContext

# How a worker opens the graph the bench reads: a picklable callable (a module-level function or a
# ``functools.partial`` of one) returning a context manager that yields a ``GraphContext``.
GraphOpener: TypeAlias = "Callable[[], AbstractContextManager[GraphContext]]"

MEMORY_PER_JOB = 6 * 2**30  # a K562- or RPE1-sized part peaks at about 5 GB with every method


def default_jobs(parts: int) -> int:
    """As many workers as there are parts, free cores, and 6 GB of available memory each (at least one)."""
    import psutil

    by_memory = int(psutil.virtual_memory().available // MEMORY_PER_JOB)
    return max(1, min(parts, choose_threads(), by_memory))


def workers_can_run(names: Sequence[str]) -> bool:
    """Whether a worker process can find every method of ``names``: the built-in ones, and those registered from
    outside whose class a worker can import (not one defined inside a function)."""
    from aroma.predict import registry

    added = registry.added()
    try:
        pickle.dumps([added[name] for name in names if name in added])
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def run_parts(open_graph: GraphOpener, data: PerturbQA, parts: Sequence[tuple[str, str]], settings: BenchSettings,
              names: Sequence[str], jobs: int, finished: Callable[[str], None]) -> list[Part]:
    """``bench_part`` of each (dataset, phase) of ``parts`` in ``jobs`` worker processes, in the order given;
    ``finished`` is told of each part as it ends."""
    from aroma.predict import registry

    added = {name: cls for name, cls in registry.added().items() if name in names}
    threads = max(1, choose_threads() // jobs)
    # two phases of one dataset share its derived tables: start the datasets' first phases first
    order = sorted(range(len(parts)), key=lambda i: (settings.phases.index(parts[i][1]), i))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=configure_threads,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(_part, open_graph, data.directory, data.validation_fraction, data.seed, *parts[i],
                               settings, list(names), added): i for i in order}
        try:
            for future in as_completed(futures):
                future.result()  # a worker's error ends the bench here
                cell, phase_name = parts[futures[future]]
                finished(f"{cell} {phase_name}")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # parts not started never start
            raise
        by_position = {i: future.result() for future, i in futures.items()}
    return [by_position[i] for i in range(len(parts))]


def _part(open_graph: GraphOpener, directory: os.PathLike, validation_fraction: float, seed: int, cell: str,
          phase_name: str, settings: BenchSettings, names: list[str], added: dict[str, type]) -> Part:
    """In a worker: register the methods added from outside, open the graph and score one part (the modules are
    imported here, after the thread count is set)."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.errors import AromaError
    from aroma.evaluate.bench import bench_part
    from aroma.predict import registry

    for cls in added.values():
        registry.register(cls)

    try:
        data = PerturbQA(directory, validation_fraction, seed, only=[cell])
        with open_graph() as graph:
            return bench_part(graph, data, cell, phase_name, settings, names)
    except AromaError as error:  # its message, as a plain AromaError: the subclasses' own arguments do not pickle
        raise AromaError(str(error)) from None
