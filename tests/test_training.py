"""SFT, GRPO, rewards, settings, evaluation and prediction on CPU with a tiny LM built here."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from aroma.cli import app
from aroma.errors import AromaError
from aroma.model.lm import AromaLM
from aroma.tokens import LABELS
from aroma.train.config import RULES, describe_settings, load_settings
from aroma.train.rewards import correctness_reward, format_reward, label_reward, make_grounding_reward
from tests import tiny

GOOD = "<think>TRRUST records TP53 → MDM2 (activation, PMID 1).</think><answer>downregulated</answer>"
runner = CliRunner()
EVIDENCE = json.dumps({"perturbed": {"symbol": "TP53"}, "target": {"symbol": "MDM2"}, "paths": [],
                       "shared_go_terms": [{"id": "GO:0006977"}]})


def test_rewards_on_hand_written_completions() -> None:
    completions = [GOOD, "downregulated", "<think>x</think><answer>down</answer>",
                   [{"role": "assistant", "content": GOOD}], "<think></think><answer>downregulated</answer>"]
    assert format_reward(completions) == [1.0, 0.0, 1.0, 1.0, 0.0]  # a direct answer has no reasoning
    assert label_reward(completions) == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert correctness_reward(completions, label=[1, 1, 1, 2, 1]) == [5.0, -1.0, -1.0, -1.0, 5.0]  # ... but counts
    grounding = make_grounding_reward(["TP53", "MDM2", "BRCA1", "EGFR"])
    cited = ["<think>TP53 and MDM2 share GO:0006977.</think><answer>downregulated</answer>",
             "<think>TP53 acts through BRCA1 and EGFR (R-HSA-123).</think><answer>upregulated</answer>",
             "<think>no genes named</think><answer>upregulated</answer>"]
    rewards = grounding(cited, evidence=[EVIDENCE] * 3)
    assert rewards[0] == 0.0 and rewards[1] == pytest.approx(-3 / 4) and rewards[2] == 0.0


def test_settings_files_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "sft.toml").write_text("batch_size = 8\nlearning_rate = 1e-4\n[lora]\nrank = 4\n")
    (tmp_path / "sft.yaml").write_text("batch_size: 2\nlora:\n  target_modules: [q_proj]\n")
    toml = load_settings(tmp_path / "sft.toml", ["lora.alpha=8", "max_steps=3"])
    assert (toml.batch_size, toml.learning_rate, toml.lora.rank, toml.lora.alpha, toml.max_steps) == (8, 1e-4, 4, 8, 3)
    assert load_settings(tmp_path / "sft.yaml", []).lora.target_modules == ["q_proj"]
    with pytest.raises(AromaError, match="unknown training setting.*lora.ranks"):
        load_settings(None, ["lora.ranks=3"])
    assert set(RULES) == {row.key for row in describe_settings()}  # every setting has its rule
    (tmp_path / "bad.toml").write_text("[lora]\nrank = 0\n")
    with pytest.raises(AromaError, match=r"lora\.rank=0: must be at least 1"):  # files are checked as --set is
        load_settings(tmp_path / "bad.toml", [])


@pytest.fixture(scope="module")
def base_model(subset_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = [json.loads(line) for line in (subset_dataset / "train.jsonl").open()]
    texts = [r["prompt"][0]["content"] + r["prompt"][1]["content"] + r["completion"] for r in corpus]
    return tiny.save_base_model(tmp_path_factory.mktemp("tiny-lm"), texts)


def _settings(*extra: str):
    return load_settings(None, ["batch_size=2", "logging_steps=1", "save_steps=1", "fusion_dim=16",
                                "soft_tokens=2", "lora.rank=4", "learning_rate=0.01", *extra])


def _trainable(model: AromaLM) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.fusion.state_dict().items() if "attend" in k}


@pytest.fixture(scope="module")
def sft_model(base_model: Path, subset_dataset: Path, subset_embeddings: Path, tmp_path_factory) -> Path:
    from aroma.train.sft import run_sft

    out = tmp_path_factory.mktemp("sft")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_sft(subset_dataset, str(base_model), subset_embeddings, out, _settings("max_steps=2"))
    flood = [f"{w.category.__name__}: {w.message}" for w in caught
             if issubclass(w.category, (FutureWarning, DeprecationWarning))]
    assert not flood, flood[:3]  # library deprecations are silenced for users (AROMA_VERBOSE=1 shows them)
    assert result.steps == 2 and (out / "sft_log.json").is_file() and (out / "checkpoints" / "checkpoint-1" / "fusion.pt").is_file()
    return out


def test_saved_model_is_the_adapter_and_a_reference(sft_model: Path, base_model: Path) -> None:
    from safetensors import safe_open

    config = json.loads((sft_model / "aroma.json").read_text())
    assert config["base_model"] == str(base_model.resolve()) and not (sft_model / "lm").exists()
    base_bytes = sum(p.stat().st_size for p in base_model.rglob("*.safetensors"))
    for adapter in (sft_model / "adapter", sft_model / "checkpoints" / "checkpoint-2"):
        with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as weights:
            keys = list(weights.keys())
        assert keys and all("lora_" in k for k in keys), [k for k in keys if "lora_" not in k][:3]
        assert (adapter / "adapter_model.safetensors").stat().st_size < base_bytes / 4


def test_sft_step_changes_lm_and_fusion(sft_model: Path, base_model: Path, subset_embeddings: Path) -> None:
    from transformers import AutoModelForCausalLM, set_seed

    from aroma.model.assets import load_gene_space
    from aroma.train.lm_setup import build_model

    trained = AromaLM.from_pretrained(sft_model)
    settings = _settings()
    set_seed(settings.seed)  # as run_sft does before it builds the model: the fusion starts from the same weights
    fresh = build_model(str(base_model), load_gene_space(subset_embeddings), settings)
    before = AutoModelForCausalLM.from_pretrained(base_model).model.layers[0].self_attn.q_proj.weight
    after = trained.lm.model.layers[0].self_attn.q_proj.weight  # LoRA merged into the LM
    assert not torch.allclose(before, after)
    # which fusion parameters get a gradient from pairs of genes in the tables (every one but the "missing" vectors)
    genes = torch.arange(4)
    sum(out.sum() for out in fresh.fusion(genes, genes.flip(0)).values()).backward()
    graded = {name for name, p in fresh.fusion.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert graded and all(".missing" not in name for name in graded)
    trained_state = trained.fusion.state_dict()
    for name, value in fresh.fusion.named_parameters():
        moved = not torch.equal(value.detach(), trained_state[name])
        if name in graded:
            assert moved, f"{name} got a gradient but did not move"
        elif not moved:
            continue  # no gradient, untouched: the seeded start is the same
        else:
            assert ".missing" in name, f"{name} moved without a gradient: the models did not start alike"


def test_sft_resume_reproduces(base_model: Path, subset_dataset: Path, subset_embeddings: Path, sft_model: Path,
                               tmp_path: Path) -> None:
    import shutil

    from aroma.train.sft import run_sft

    shutil.copytree(sft_model / "checkpoints" / "checkpoint-1", tmp_path / "checkpoints" / "checkpoint-1")
    run_sft(subset_dataset, str(base_model), subset_embeddings, tmp_path, _settings("max_steps=2"), resume=True)
    resumed, straight = AromaLM.from_pretrained(tmp_path), AromaLM.from_pretrained(sft_model)
    for (name, a), b in zip(resumed.lm.state_dict().items(), straight.lm.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    for key, value in _trainable(resumed).items():
        assert torch.allclose(value, straight.fusion.state_dict()[key], atol=1e-6), key


def test_grpo_step_changes_weights(sft_model: Path, subset_dataset: Path, tmp_path: Path, monkeypatch) -> None:
    from aroma.train import grpo

    def varied_reward(completions, **_):  # untrained tiny models get equal AROMA rewards: add spread
        return [float(len(set(c[0]["content"] if isinstance(c, list) else c))) for c in completions]

    real = grpo.reward_functions
    monkeypatch.setattr(grpo, "reward_functions", lambda symbols: [*real(symbols), varied_reward])
    before = AromaLM.from_pretrained(sft_model)
    result = grpo.run_grpo(subset_dataset, sft_model, tmp_path, _settings(
        "max_steps=1", "num_generations=2", "max_completion_length=8", "limit=4", "temperature=1.5",
        "save_merged=true"))
    assert result.steps == 1 and json.loads((tmp_path / "grpo_log.json").read_text()) == result.log
    rewards = {k for entry in result.log for k in entry if k.startswith("rewards/")}
    assert {"rewards/format_reward/mean", "rewards/correctness_reward/mean", "rewards/grounding_reward/mean"} <= rewards
    after = AromaLM.from_pretrained(tmp_path)
    changed = [k for k, v in after.lm.state_dict().items() if not torch.allclose(v, before.lm.state_dict()[k])]
    assert changed, "GRPO did not change the LM"
    assert json.loads((tmp_path / "aroma.json").read_text())["base_model"] == str(sft_model.resolve())
    merged = AromaLM.from_pretrained(tmp_path / "merged")  # self-contained: no base reference
    assert "base_model" not in json.loads((tmp_path / "merged" / "aroma.json").read_text())
    for key, value in after.lm.state_dict().items():
        assert torch.allclose(value, merged.lm.state_dict()[key], atol=1e-6), key


def test_eval_report_and_predict(sft_model: Path, subset_dataset: Path, subset_store, data_root: Path,
                                 tmp_path: Path) -> None:
    from rich.progress import Progress

    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.eval import evaluate_model
    from aroma.predict.lm import explain
    from aroma.retrieval import EvidenceIndex
    from aroma.retrieval.knowledge import GraphContext

    report = evaluate_model(GraphContext(subset_store), PerturbQA(data_root / "perturbqa"), sft_model, subset_dataset,
                            "validation", tmp_path, limit=8, batch_size=4, show_progress=False)
    # the subset graph holds no training outcomes: the methods that need them do not apply
    assert set(report.metrics) == {"aroma", "target base rate", "evidence heuristic"} and report.pairs >= 8
    assert report.metrics["aroma"]["pairs"] == report.pairs
    assert (tmp_path / "roc_pr.png").read_bytes()[:4] == b"\x89PNG"
    def no_nan(name: str):
        raise AssertionError(f"{name} in eval_report.json is not JSON")
    json.loads((tmp_path / "eval_report.json").read_text(), parse_constant=no_nan)
    model = AromaLM.from_pretrained(sft_model)
    progress = Progress(disable=True)
    result = explain(model, EvidenceIndex(subset_store).evidence("TP53", "MDM2", "K562"), ("TP53", "MDM2"),
                     max_new_tokens=6, progress=progress)
    assert progress.tasks[-1].finished and 1 <= progress.tasks[-1].completed <= 6  # one step per generated token
    assert result["answer"] in LABELS and abs(sum(result["probabilities"].values()) - 1) < 1e-5
    assert result["evidence"]["perturbed"]["symbol"] == "TP53"


def test_bench_scores_the_language_model(sft_model: Path, outcome_store, sample, tmp_path: Path) -> None:
    """`aroma bench --model …`: the language model beside the other methods, on whole test genes."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.bench import BenchSettings, run_bench
    from aroma.predict.base import MethodOptions
    from aroma.retrieval.knowledge import GraphContext

    results = run_bench(GraphContext(outcome_store), PerturbQA(sample[1], only=["k562"]), tmp_path,
                        BenchSettings(MethodOptions(model=sft_model, lm_pairs=30)), show_progress=False).results
    language = [r for r in results if r.method.startswith("language model")]
    assert len(language) == 1 and language[0].split == "test" and 1 <= language[0].pairs < 100
    assert {r.method for r in results if r.split == "test"} > {"neighbour vote", language[0].method}
    assert language[0].method in (tmp_path / "bench.md").read_text()


@pytest.mark.parametrize("override", [
    "batch_size=abc", "batch_size=-1", "batch_size=0", "batch_size=2.5", "batch_size=", "learning_rate=nan",
    "learning_rate=-1", "epochs=inf", "lora.rank=0", "lora.dropout=2", "fusion_dropout=1.5", "limit=-5",
    "max_length=0", "lora.target_modules=notalist", "save_merged=maybe", "seed=true", "lora=3",
])
def test_bad_settings_are_named_before_anything_loads(override: str, tmp_path: Path) -> None:
    """`--set` values of the wrong type or out of range: one line naming key and value, before any model loads
    (the base model and data given here do not even exist)."""
    key, _, value = override.partition("=")
    result = runner.invoke(app, ["train", "sft", "--data", str(tmp_path / "none"), "--base-model", str(tmp_path / "none"),
                                 "--embeddings", str(tmp_path / "none"), "--out", str(tmp_path / "out"), "--set", override])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"training setting {key}=" in result.output and value in result.output
    assert not (tmp_path / "out").exists()
