"""Typed prompts (entity, number and kind tokens), the LM reading them, training on them in one and in two processes
(gloo, no GPU), and the LM predicting from them in the bench — with tiny models built here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aroma.dataset.styles import build_completion, build_prompt
from aroma.dataset.typed import typed_prompt
from aroma.errors import AromaError
from aroma.model.lm import AromaLM, pad_rows, pad_values
from aroma.retrieval.evidence import (CrossCellLine, ExperimentalEvidence, GeneFacts, GenePath, Interactor,
                                      Interaction, Neighbour, PairEvidence, SharedPathway, Votes)
from aroma.tokens import ENTITY, KINDS, LABELS, NUMBER, PLACEHOLDERS, TYPED_TOKENS
from tests import tiny

ROOT = Path(__file__).resolve().parents[1]


def _gene(symbol: str, number: int, partners: int = 2) -> GeneFacts:
    return GeneFacts(f"ncbigene:{number}", symbol, f"{symbol} protein", "protein-coding", None, symbol == "TP53",
                     ["TFClass"] if symbol == "TP53" else [], [], 40 + number,
                     [Interactor(f"P{number}{i}", f"ncbigene:{900 + number + i}", 950 - i) for i in range(partners)])


def _evidence() -> PairEvidence:
    neighbours = [Neighbour(f"KD{i}", f"ncbigene:{100 + i}", round(0.9 - 0.07 * i, 3), LABELS[i % 3], 0.1 + i / 100)
                  for i in range(12)]
    experiments = ExperimentalEvidence("K562", neighbours, [CrossCellLine("RPE1", LABELS[1], 0.06, 0.2)], 30,
                                       Votes(0.4242, 0.3131, 17))
    return PairEvidence("K562", _gene("TP53", 1), _gene("MDM2", 2),
                        interaction=Interaction("STRING v12", "TP53", "MDM2", 999, {"experiments": 990}),
                        paths=[GenePath(["TP53", "ATM", "MDM2"], ["ncbigene:1", "ncbigene:7", "ncbigene:2"], [900, 800])],
                        shared_pathways=[SharedPathway("R-HSA-1", "p53 signalling", "reactome", 120)],
                        experiments=experiments)


def test_typed_prompt_holds_the_text_prompts_evidence_as_tokens() -> None:
    evidence = _evidence()
    prompt = typed_prompt(evidence, ("TP53", "MDM2"))
    user = prompt.messages[1]["content"]
    assert user.count(ENTITY) == len(prompt.entities) and user.count(NUMBER) == len(prompt.numbers)
    assert all(user.count(token) == 1 for token in PLACEHOLDERS.values())
    # genes: P, T, the ten shown knockdowns, both genes' partners, the path's inner gene — each one entity token
    shown = evidence.experiments.neighbours[:10]
    assert prompt.entities[:2] == ["ncbigene:1", "ncbigene:2"]
    assert [n.id for n in shown] == prompt.entities[2:12] and "ncbigene:7" in prompt.entities
    assert all(f"{n.symbol}{ENTITY}" in user for n in shown) and "KD11" not in user
    # numbers are values, never digits: the vote shares, similarities, scores (÷1000) enter as number tokens
    assert prompt.numbers[:2] == [0.4242, 0.3131] and 0.9 in prompt.numbers and 0.999 in prompt.numbers
    assert not re.search(r"\d\.\d", user) and all(-1 <= v <= 1 for v in prompt.numbers)
    assert user.count(KINDS["knockdown"]) == 10 and KINDS["string"] in user and KINDS["elsewhere"] in user
    assert KINDS["tf"] in user and KINDS["path"] in user and KINDS["pathway"] in user and KINDS["none"] not in user
    # the reasoning cites the evidence by gene, its numbers in words
    think = build_completion(evidence, 1, "typed")
    assert "KD0" in think and "TP53 – ATM – MDM2" in think and think.endswith("<answer>downregulated</answer>")
    assert not re.search(r"\d\.\d", think)
    text = build_prompt(evidence, ("TP53", "MDM2"), "text").messages[1]["content"]
    assert "share that changed MDM2 0.42" in text  # the same vote in the text prompt
    assert len(re.sub(r"<\|aroma_\w+\|>", "#", user)) < 0.35 * len(text)  # an added token is one token


def test_renamed_genes_and_empty_evidence() -> None:
    bare = PairEvidence("K562", GeneFacts.placeholder("NEWGENE"), _gene("MDM2", 2, partners=0))
    prompt = typed_prompt(bare, ("NEWGENE", "MDM2-alias"))
    user = prompt.messages[1]["content"]
    assert prompt.entities[0] == "" and "(MDM2-alias is MDM2)" in user and KINDS["none"] in user
    assert "no direct relation, path or shared pathway" in build_completion(bare, 0, "typed")
    with pytest.raises(AromaError, match="--prompt must be one of text, typed"):
        build_prompt(bare, None, "emoji")


@pytest.fixture(scope="module")
def space(subset_embeddings: Path):
    from aroma.model.assets import load_gene_space

    return load_gene_space(subset_embeddings)


def _typed_model(space) -> AromaLM:
    from aroma.model.classifier import build_fusion
    from aroma.model.fusion import FusionConfig

    torch.manual_seed(0)
    tokenizer = tiny.tokenizer()
    model = AromaLM(tiny.causal_lm("llama", len(tokenizer)), tokenizer,
                    build_fusion(space, FusionConfig(out_dim=32, model_dim=16, heads=2, typed=True)))
    model.gene_ids = list(space.ids)
    return model


def test_typed_tokens_enter_as_vectors(space, tmp_path: Path) -> None:
    model = _typed_model(space)
    typed = model.fusion.typed
    with torch.no_grad():  # projections start at zero: give them weights so that values and genes show
        for projection in (typed.entity, typed.number):
            projection[-1].weight.normal_(0, 0.5)
    text = f"{KINDS['vote']}{NUMBER} KD{ENTITY}{NUMBER}{KINDS['up']} " + "".join(PLACEHOLDERS.values())
    ids = model.tokenizer([text, text], return_tensors="pt").input_ids
    pair = dict(perturbed=torch.tensor([0, 0]), target=torch.tensor([1, 1]))
    rows, values = pad_rows([[3], [3]]), pad_values([[0.2, 0.5], [0.2, 0.5]])
    captured = []
    hook = model.lm.get_input_embeddings().register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    model.eval()
    base = model(ids, entities=rows, numbers=values, **pair).logits
    embedded = captured[-1]
    kind_at = (ids[0] == model.tokenizer.convert_tokens_to_ids(KINDS["up"])).nonzero()[0, 0]
    assert torch.allclose(embedded[0, kind_at], typed.tokens()[TYPED_TOKENS.index(KINDS["up"])])
    other_value = model(ids, entities=rows, numbers=pad_values([[0.2, 0.5], [0.9, 0.5]]), **pair).logits
    assert torch.allclose(base[0], other_value[0]) and not torch.allclose(base[1], other_value[1])
    other_gene = model(ids, entities=pad_rows([[3], [4]]), numbers=values, **pair).logits
    assert torch.allclose(base[0], other_gene[0]) and not torch.allclose(base[1], other_gene[1])
    hook.remove()
    with pytest.raises(AromaError, match="hold \\[2, 2\\] <\\|aroma_number\\|> token\\(s\\), but \\[1, 1\\]"):
        model(ids, entities=rows, numbers=pad_values([[0.2], [0.2]]), **pair)
    with pytest.raises(AromaError, match="no genes were given"):
        model.lm(input_ids=ids)
    # gradients reach the typed projections; the tokens are never generated; save and load keep it all
    model.train()
    model(ids, entities=rows, numbers=values, labels=ids, **pair).loss.backward()
    assert typed.number[0].weight.grad.abs().sum() > 0 and typed.entity[1].weight.grad.abs().sum() > 0
    model.eval()
    out = model.generate(ids[:1], entities=rows[:1], numbers=values[:1], max_new_tokens=5, do_sample=True,
                         pad_token_id=model.tokenizer.pad_token_id, perturbed=torch.tensor([0]), target=torch.tensor([1]))
    assert not set(out[0, ids.shape[1]:].tolist()) & set(model.added_token_ids())
    model.save_pretrained(tmp_path / "m")
    again = AromaLM.from_pretrained(tmp_path / "m").eval()
    assert again.prompt_style == "typed" and json.loads((tmp_path / "m" / "aroma.json").read_text())["prompt"] == "typed"
    assert torch.allclose(again(ids, entities=rows, numbers=values, **pair).logits, base, atol=1e-5)


def _whole_answers(model: AromaLM, inputs, device="cpu") -> torch.Tensor:
    """The reference: each prompt + answer read whole, right-padded, its answer tokens' mean log-likelihood."""
    from aroma.predict.lm import _prefix
    from aroma.tokens import ANSWER_CLOSE

    out = []
    for i, prompt in enumerate(inputs.prompts):
        prefix = _prefix(model, prompt.messages, "")
        scores = []
        for label in LABELS:
            answer = model.tokenizer(label + ANSWER_CLOSE, add_special_tokens=False).input_ids
            ids = torch.tensor([prefix + answer])
            logits = model(ids, perturbed=torch.tensor(inputs.perturbed[i:i + 1]),
                           target=torch.tensor(inputs.target[i:i + 1]), **inputs.typed(i, i + 1, 1, device)).logits
            logprobs = torch.log_softmax(logits[0].float(), dim=-1)
            scores.append(torch.stack([logprobs[len(prefix) - 1 + j, t] for j, t in enumerate(answer)]).mean())
        out.append(torch.softmax(torch.stack(scores), dim=0))
    return torch.stack(out)


def test_cached_answer_scores_equal_reading_each_answer_whole(space) -> None:
    """The bench's scores read each prompt once (left-padded, its cache shared by the three answers): they must
    equal reading every prompt + answer whole."""
    from aroma.predict.lm import answer_probabilities, model_inputs

    model = _typed_model(space).eval()
    with torch.no_grad():
        for projection in (model.fusion.typed.entity, model.fusion.typed.number):
            projection[-1].weight.normal_(0, 0.5)
    evidence = [_evidence(), PairEvidence("K562", _gene("TP53", 1), _gene("MDM2", 2, partners=0))]
    inputs = model_inputs(model, evidence, [("TP53", "MDM2")] * 2)
    cached = answer_probabilities(model, inputs, batch_size=2, bf16=False)
    with torch.no_grad():
        whole = _whole_answers(model, inputs)
    assert torch.allclose(torch.from_numpy(cached), whole, atol=1e-5), (cached, whole)
    assert not torch.allclose(whole[0], whole[1], atol=1e-3)  # the two pairs' evidence differs, and shows


@pytest.fixture(scope="module")
def typed_dataset(outcome_store, sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Typed K562 examples over the experiments graph (training outcomes: similar knockdowns and votes)."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.dataset.generate import GenerateConfig, generate

    out = tmp_path_factory.mktemp("typed")
    base = tiny.save_base_model(tmp_path_factory.mktemp("tokenizer"))
    generate(outcome_store, GenerateConfig(PerturbQA(sample[1], only=["k562"]), ["k562"], out, limit=160,
                                           prompt="typed", tokenizer=str(base)), show_progress=False)
    return out


def test_typed_dataset_and_its_card(typed_dataset: Path) -> None:
    card = json.loads((typed_dataset / "card.json").read_text())
    assert card["prompt"] == "typed"
    tokens = card["prompt_tokens"]
    assert tokens["typed"]["mean"] < tokens["text"]["mean"] and tokens["typed_share"] < 0.5
    assert "Typed prompts are" in (typed_dataset / "README.md").read_text()
    examples = [json.loads(line) for line in (typed_dataset / "train.jsonl").open()]
    with_votes = 0
    for example in examples:
        user = example["prompt"][1]["content"]
        assert user.count(ENTITY) == len(example["entities"]) and user.count(NUMBER) == len(example["numbers"])
        evidence = PairEvidence.from_dict(json.loads(example["evidence"]))
        assert typed_prompt(evidence, (example["pert"], example["gene"])).messages == example["prompt"]
        with_votes += KINDS["vote"] in user
    assert with_votes > len(examples) / 2


@pytest.fixture(scope="module")
def typed_base(typed_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [json.loads(line) for line in (typed_dataset / "train.jsonl").open()]
    texts = [r["prompt"][0]["content"] + r["prompt"][1]["content"] + r["completion"] for r in rows]
    return tiny.save_base_model(tmp_path_factory.mktemp("typed-lm"), texts)


SETTINGS = ["logging_steps=1", "save_steps=100", "fusion_dim=16", "lora.rank=4", "learning_rate=0.01", "seed=3",
            "changed_share=0.5", "direct_answers=0.5"]


def _sft(args: list[str], data: Path, base: Path, embeddings: Path, out: Path, processes: int = 1
         ) -> subprocess.CompletedProcess:
    """`aroma train sft` in a subprocess (output to a pipe: no terminal), under torchrun with ``processes``."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
                "--master_port", str(29500 + os.getpid() % 1000)] if processes > 1 else [sys.executable]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([*launcher, "-m", "aroma.cli", "train", "sft", "--data", str(data), "--base-model", str(base),
                           "--embeddings", str(embeddings), "--out", str(out), "--set", *SETTINGS, *args],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)


def _losses(out: Path) -> list[float]:
    return [entry["loss"] for entry in json.loads((out / "sft_log.json").read_text()) if "loss" in entry]


def test_two_processes_train_as_one_with_the_same_global_batch(typed_dataset: Path, typed_base: Path,
                                                               subset_embeddings: Path, tmp_path: Path) -> None:
    """Data-parallel SFT (torchrun, gloo, CPU): two processes at batch 2 give the losses of one at batch 4; the log
    is one plain line per step (no carriage returns, no progress bars)."""
    exact = ["max_steps=3", "lora.dropout=0", "fusion_dropout=0"]  # no dropout: the same sums in both runs
    one = _sft([*exact, "batch_size=4"], typed_dataset, typed_base, subset_embeddings, tmp_path / "one")
    assert one.returncode == 0, one.stderr[-3000:]
    assert "\r" not in one.stdout + one.stderr
    lines = [line for line in one.stdout.splitlines() if line.startswith("step ")]
    assert len(lines) == 4 and re.match(r"step 1/3 · loss \S+ .* s/step · \S+ examples/s · .* GB peak RSS", lines[0])
    two = _sft([*exact, "batch_size=2"], typed_dataset, typed_base, subset_embeddings, tmp_path / "two", 2)
    assert two.returncode == 0, two.stderr[-3000:]
    single, parallel = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(single) == len(parallel) == 3 and single[0] != single[-1]
    assert parallel == pytest.approx(single, rel=1e-4), (single, parallel)
    fusion_one = torch.load(tmp_path / "one" / "fusion.pt", weights_only=True)
    fusion_two = torch.load(tmp_path / "two" / "fusion.pt", weights_only=True)
    # the fusion (outside DDP's module) is averaged like the LM: each process's own gradients would move its weights
    # apart by about the learning rate (0.01) in three Adam steps; the sums in another order, by far less
    for name, value in fusion_one.items():
        assert torch.allclose(value, fusion_two[name], atol=2e-3), name


@pytest.fixture(scope="module")
def typed_model(typed_dataset: Path, typed_base: Path, subset_embeddings: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aroma.train.config import load_settings
    from aroma.train.sft import run_sft

    out = tmp_path_factory.mktemp("typed-sft")
    run = run_sft(typed_dataset, str(typed_base), subset_embeddings, out,
                  load_settings(None, [*SETTINGS, "max_steps=2", "batch_size=2"]))
    assert run.steps == 2
    return out


def test_typed_model_records_its_prompts_and_sampling(typed_model: Path, typed_dataset: Path) -> None:
    from aroma.train.lm_setup import load_split
    from aroma.train.config import load_settings

    config = json.loads((typed_model / "aroma.json").read_text())
    assert config["prompt"] == "typed" and config["fusion"]["typed"]
    assert config["trained_label_shares"][0] == pytest.approx(0.5, abs=0.05) and config["label_shares"][0] > 0.6
    log = json.loads((typed_model / "sft_log.json").read_text())
    assert all({"s_per_step", "examples_per_s", "peak_rss_gb"} <= set(entry) for entry in log if "loss" in entry)
    model = AromaLM.from_pretrained(typed_model)
    examples = load_split(typed_dataset, "train", model, load_settings(None, SETTINGS))
    completions = [e["completion"][0]["content"] for e in examples]
    direct = sum(c.startswith("<think></think><answer>") for c in completions)
    assert 0.3 < direct / len(completions) < 0.7  # direct_answers=0.5
    assert all(len(e["entity_rows"]) == e["prompt"][1]["content"].count(ENTITY) for e in examples)


def test_bench_scores_a_typed_model(typed_model: Path, outcome_store, sample, tmp_path: Path) -> None:
    """`aroma bench --model` with a model trained on typed prompts builds typed prompts from the evidence."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.bench import BenchSettings, run_bench
    from aroma.predict.base import MethodOptions
    from aroma.retrieval.knowledge import GraphContext

    results = run_bench(GraphContext(outcome_store), PerturbQA(sample[1], only=["k562"]), tmp_path,
                        BenchSettings(MethodOptions(model=typed_model, lm_pairs=20), ("neighbour vote", "language model")),
                        show_progress=False).results
    language = [r for r in results if r.method.startswith("language model")]
    assert len(language) == 1 and 1 <= language[0].pairs < 100 and language[0].macro_f1 is not None


def test_a_text_model_refuses_a_typed_dataset(typed_dataset: Path, tmp_path: Path) -> None:
    from aroma.train.lm_setup import check_prompt

    class TextModel:
        prompt_style = "text"

    with pytest.raises(AromaError, match="holds typed prompts but the model reads text prompts"):
        check_prompt(TextModel(), typed_dataset)  # type: ignore[arg-type]


def test_grpo_on_typed_prompts(typed_model: Path, typed_dataset: Path, tmp_path: Path, outcome_store) -> None:
    """GRPO generates from typed prompts (their tokens injected, never generated) and scores with them; the GRPO
    model (an adapter over the SFT model) loads and answers."""
    from aroma.data.perturbqa import LabelledPair
    from aroma.predict.lm import LanguageModel
    from aroma.retrieval.knowledge import GraphContext

    from aroma.train.config import load_settings
    from aroma.train.grpo import run_grpo

    result = run_grpo(typed_dataset, typed_model, tmp_path, load_settings(None, [
        *SETTINGS, "max_steps=1", "batch_size=4", "num_generations=2", "max_completion_length=6", "limit=8",
        "temperature=1.5"]))
    assert result.steps == 1 and any("rewards/grounding_reward/mean" in e for e in result.log)
    assert json.loads((tmp_path / "aroma.json").read_text())["prompt"] == "typed"
    assert json.loads((tmp_path / "aroma.json").read_text())["base_model"] == str(typed_model)
    example = json.loads((typed_dataset / "test.jsonl").open().readline())
    language = LanguageModel(tmp_path).fit(GraphContext(outcome_store).knowledge("K562"), [])
    probabilities = language.predict_proba([LabelledPair("K562", example["pert"], example["gene"], None, "asked")])
    assert probabilities.shape == (1, 3) and abs(probabilities.sum() - 1) < 1e-5


def test_predict_with_a_typed_model_generates_from_typed_prompts(typed_model: Path, typed_dataset: Path,
                                                                 outcome_store) -> None:
    """`aroma predict P T --model` with a typed model: the pair's typed prompt from the graph, reasoning, answer."""
    from aroma.data.perturbqa import LabelledPair
    from aroma.predict.lm import LanguageModel, explain
    from aroma.retrieval.knowledge import GraphContext

    example = json.loads((typed_dataset / "test.jsonl").open().readline())
    language = LanguageModel(typed_model).fit(GraphContext(outcome_store).knowledge("K562"), [])
    evidence = language.evidence([LabelledPair("K562", example["pert"], example["gene"], None, "asked")])[0]
    assert typed_prompt(evidence, (example["pert"], example["gene"])).messages == example["prompt"]
    result = explain(language.model, evidence, (example["pert"], example["gene"]), max_new_tokens=6)
    assert result["answer"] in LABELS and abs(sum(result["probabilities"].values()) - 1) < 1e-5
