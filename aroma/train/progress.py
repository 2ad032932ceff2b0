"""Training progress as plain lines: each logging step's figures (loss or rewards, s/step, examples/s, tokens/s,
peak memory) added to the trainer's log, and printed as one line when the output is not a terminal (a log file or a
pipe gets no carriage-return progress bars)."""

from __future__ import annotations

import resource
import sys
import time
from typing import Any

import torch
from transformers import TrainerCallback

SHOWN = ("loss", "grad_norm", "learning_rate", "mean_token_accuracy", "reward", "rewards/correctness_reward/mean",
         "rewards/grounding_reward/mean", "kl")


def to_terminal() -> bool:
    """Whether standard output is a terminal (then progress bars, else plain lines)."""
    return sys.stdout.isatty()


def peak_rss_gb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class StepFigures(TrainerCallback):
    """Adds ``s_per_step``, ``examples_per_s``, ``tokens_per_s``, ``peak_rss_gb`` (and ``gpu_peak_gb`` on CUDA) to
    each log entry, timed since the previous one; with ``print_lines`` prints the entry as one line."""

    def __init__(self, examples_per_step: int, print_lines: bool) -> None:
        self.examples_per_step = examples_per_step
        self.print_lines = print_lines
        self._last: tuple[float, int, float] | None = None  # time, step, tokens

    def on_train_begin(self, args, state, control, **kwargs: Any) -> None:
        self._last = (time.monotonic(), state.global_step, 0.0)

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or not state.log_history or self._last is None:
            return
        entry = state.log_history[-1]
        now, tokens = time.monotonic(), float(logs.get("num_tokens", 0.0))
        then, step, then_tokens = self._last
        steps = state.global_step - step
        if steps > 0 and "train_runtime" not in logs:
            seconds = (now - then) / steps
            entry.update(s_per_step=round(seconds, 3), examples_per_s=round(self.examples_per_step / seconds, 4))
            if tokens:
                entry["tokens_per_s"] = round((tokens - then_tokens) / (now - then), 1)
            self._last = (now, state.global_step, tokens)
        entry["peak_rss_gb"] = round(peak_rss_gb(), 2)
        if torch.cuda.is_available():
            entry["gpu_peak_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if self.print_lines and state.is_world_process_zero:
            print(line(entry, state.max_steps), flush=True)


def line(entry: dict[str, Any], max_steps: int) -> str:
    """One log entry as a plain line: ``step 10/200 loss 1.2345 … 12.3 s/step 0.65 examples/s …``."""
    parts = [f"step {entry.get('step', '?')}/{max_steps}"]
    for key in SHOWN:
        if key in entry:
            value = entry[key]
            parts.append(f"{key.removeprefix('rewards/').removesuffix('/mean')} {value:.4g}"
                         if isinstance(value, float) else f"{key} {value}")
    for key, unit in (("s_per_step", "s/step"), ("examples_per_s", "examples/s"), ("tokens_per_s", "tokens/s"),
                      ("peak_rss_gb", "GB peak RSS"), ("gpu_peak_gb", "GB peak GPU")):
        if key in entry:
            parts.append(f"{entry[key]:.3g} {unit}")
    if "train_runtime" in entry:
        parts.append(f"done in {entry['train_runtime']:.0f} s")
    return " · ".join(parts)


class TimeLimit(TrainerCallback):
    """Stops training once ``minutes`` have passed since it began (checked after each step)."""

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60
        self.start = time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs: Any) -> None:
        self.start = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs: Any) -> None:
        if _agreed(time.monotonic() - self.start >= self.seconds):
            control.should_training_stop = True
            control.should_save = True


def _agreed(decision: bool) -> bool:
    """The first process's decision, in every process of a data-parallel run (so that all stop at one step)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return decision
    flag = torch.tensor([1.0 if decision else 0.0])
    dist.broadcast(flag, src=0)
    return bool(flag.item())
