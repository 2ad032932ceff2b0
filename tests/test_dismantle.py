"""aroma dismantle: R by hand, the union-find curve against direct evaluation, known best orders found by
the baselines and a tiny trained agent, reproducible and resumable training, learning from demonstrations,
and the Cypher readers on a real built subset graph."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from aroma.cli import app
from aroma.dismantle.agent import Agent, QConfig
from aroma.dismantle.baselines import ATTACKS
from aroma.dismantle.environment import DismantleEnv
from aroma.dismantle.network import Network, synthetic
from aroma.dismantle.objectives import curve, robustness, value
from aroma.dismantle.train import TrainConfig, Trainer, mean_r, train
from aroma.errors import AromaError
from aroma.kg.store import GraphStore

torch.set_num_threads(1)


def _network(name: str, graph: nx.Graph, sources: list[int] = (0,)) -> Network:
    graph = nx.convert_node_labels_to_integers(graph)
    mask = np.zeros(graph.number_of_nodes(), dtype=bool)
    mask[list(sources)] = True
    return Network.from_networkx(name, graph, sources=mask)


STAR = _network("star", nx.star_graph(8))  # centre 0
BARBELL = _network("barbell", nx.barbell_graph(5, 1))  # two K5 joined through bridge node 10
PATH = _network("path", nx.path_graph(9))


def best_r(network: Network, objective: str) -> float:
    """The optimal R by exhaustive search over removal sets (dynamic programming, 2^N states)."""
    n, adjacency = network.n, network.adjacency()
    initial = value(network, np.ones(n, dtype=bool), objective, adjacency)

    @lru_cache(maxsize=None)
    def after(removed: int) -> float:
        return value(network, np.array([not removed >> i & 1 for i in range(n)]), objective, adjacency)

    @lru_cache(maxsize=None)
    def best(removed: int) -> float:
        if removed == (1 << n) - 1:
            return 0.0
        return min(after(removed | 1 << v) + best(removed | 1 << v) for v in range(n) if not removed >> v & 1)

    return best(0) / initial / n


def test_r_agrees_with_a_hand_count() -> None:
    path3 = _network("path3", nx.path_graph(3), sources=[0])
    # remove the middle, then an end, then the other end: LCC 1, 1, 0 of 3; pairs 0; reach 1 (node 0), 0, 0
    assert robustness(curve(path3, [1, 0, 2], "lcc")) == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert robustness(curve(path3, [1, 0, 2], "pairwise")) == 0.0
    assert robustness(curve(path3, [1, 2, 0], "reach")) == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert robustness(curve(path3, [0, 1, 2], "reach")) == pytest.approx(0.0)  # the only source goes first
    # a star of 9: centre first leaves isolated leaves, LCC 1 until the last removal
    assert robustness(curve(STAR, list(range(9)), "lcc")) == pytest.approx(sum([1 / 9] * 8 + [0]) / 9)
    with pytest.raises(AromaError, match="each of its 9 nodes once"):
        curve(STAR, [0, 0, 1, 2, 3, 4, 5, 6, 7], "lcc")


@pytest.mark.parametrize("objective", ["lcc", "pairwise", "reach"])
def test_curve_matches_direct_evaluation(objective: str) -> None:
    """The one-pass union-find curve equals evaluating the objective from scratch after every removal."""
    rng = np.random.default_rng(3)
    network = synthetic("ba", 40, rng, source_share=0.15)
    order = rng.permutation(network.n)
    values = curve(network, order, objective)
    initial = value(network, np.ones(network.n, dtype=bool), objective)
    alive = np.ones(network.n, dtype=bool)
    for k, v in enumerate(order, start=1):
        alive[v] = False
        assert values[k] == pytest.approx(value(network, alive, objective) / initial)


@pytest.mark.parametrize("objective", ["lcc", "pairwise", "reach"])
def test_one_step_features_match_removing_each_node(objective: str) -> None:
    """The linear-time 'objective after removing v' equals removing v and recomputing; exact betweenness
    equals networkx's."""
    from aroma.dismantle.features import collective_influence, exact_betweenness, removal_values

    rng = np.random.default_rng(7)
    for kind in ("ba", "er", "ws"):
        network = synthetic(kind, 35, rng, source_share=0.15)
        adjacency = network.adjacency()
        after = removal_values(adjacency, objective, network.sources)
        for v in range(network.n):
            alive = np.ones(network.n, dtype=bool)
            alive[v] = False
            assert after[v] == pytest.approx(value(network, alive, objective, adjacency))
        reference = nx.betweenness_centrality(network.to_networkx(), normalized=False)
        assert exact_betweenness(adjacency) == pytest.approx([reference[v] for v in range(network.n)])
    tree = nx.balanced_tree(3, 3)  # on a tree, collective influence's walk form is the ball-boundary sum
    ci = collective_influence(Network.from_networkx("tree", tree).adjacency())
    k = dict(tree.degree)
    ball = [(k[i] - 1) * sum(k[j] - 1 for j, d in nx.single_source_shortest_path_length(tree, i, cutoff=2).items()
                             if d == 2) for i in range(len(k))]
    assert ci == pytest.approx(ball)


def test_v3_features_rank_ties_together() -> None:
    """Feature set v3 gives tied degrees and betweenness one shared rank (v2 spreads them by node index)."""
    from aroma.dismantle.features import FEATURE_SETS, node_features

    adjacency = STAR.adjacency()
    columns = FEATURE_SETS["v3"]
    v2, v3 = (node_features(adjacency, None, "lcc", name) for name in ("v2", "v3"))
    for column in ("degree_rank", "betweenness_rank"):
        i = columns.index(column)
        assert v3[0, i] == 1.0 and torch.allclose(v3[1:, i], torch.full((8,), 3.5 / 8)), column
        assert len(set(v2[1:, i].tolist())) == 8  # the leaves' ranks differ only by index
    others = [i for i, name in enumerate(columns) if not name.endswith("_rank") or name == "drop_rank"]
    assert torch.equal(v2[:, others], v3[:, others])


@pytest.mark.parametrize("objective", ["lcc", "pairwise", "reach"])
def test_episode_return_is_minus_r(objective: str) -> None:
    """Single removals until the episode ends: the rewards sum to exactly -R of the completed order."""
    from aroma.dismantle.environment import finish_order

    rng = np.random.default_rng(5)
    network = synthetic("er", 30, rng, source_share=0.15)
    env = DismantleEnv(network, objective, feature_set="v2")
    state, total = env.observe(), 0.0
    while state is not None:
        node = state.nodes[int(rng.integers(len(state.nodes)))]
        total += env.remove(node)
        state = env.observe()
    assert total == pytest.approx(-robustness(curve(network, finish_order(network, env.removed, objective), objective)))


@pytest.mark.parametrize("network, optimal", [
    (STAR, {"degree", "adaptive_degree", "adaptive_betweenness", "collective_influence"}),
    (PATH, {"adaptive_betweenness", "collective_influence"}),
    (BARBELL, {"adaptive_degree"}),
])
def test_baselines_find_known_best_orders(network: Network, optimal: set[str]) -> None:
    """Exhaustive search gives the best R; the baselines that should reach it do, and random does not."""
    best = best_r(network, "lcc")
    scores = {name: robustness(curve(network, attack(network, "lcc"), "lcc")) for name, attack in ATTACKS.items()}
    assert {name for name, r in scores.items() if r == pytest.approx(best)} >= optimal
    assert scores["random"] > best
    assert min(scores.values()) >= best - 1e-12


def _tiny(objective: str = "lcc", episodes: int = 40, seed: int = 0, validate_every: int = 0) -> TrainConfig:
    return TrainConfig(objective=objective, episodes=episodes, min_nodes=8, max_nodes=16, warmup=40, learn_every=2,
                       batch_size=16, lr=1e-3, eps_decay_episodes=TINY_EPISODES // 2,
                       validate_every=validate_every or episodes, validation_graphs=4, checkpoint_every=10, seed=seed,
                       reward_scale=10.0, q=QConfig(hidden=16, layers=2))


@pytest.fixture(scope="module")
def tiny_agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("agent")
    train(_tiny(episodes=TINY_EPISODES), out, show_progress=False)
    return out


TINY_EPISODES = 120


@pytest.mark.parametrize("network", [STAR, PATH, BARBELL], ids=lambda n: n.name)
def test_tiny_agent_finds_known_best_orders(tiny_agent: Path, network: Network) -> None:
    agent = Agent.load(tiny_agent)
    order = agent.attack(network).order
    assert robustness(curve(network, order, "lcc")) == pytest.approx(best_r(network, "lcc"))


def test_training_is_reproducible_and_resumable(tmp_path: Path) -> None:
    """Same seed, same weights; 12 episodes in one run equal 6, stop, --resume to 12; another seed differs."""
    train(_tiny(episodes=12, validate_every=6), tmp_path / "a", show_progress=False)
    train(_tiny(episodes=12, validate_every=6), tmp_path / "b", show_progress=False)
    train(_tiny(episodes=6, validate_every=6), tmp_path / "c", show_progress=False)
    train(_tiny(episodes=12, validate_every=6), tmp_path / "c", resume=True, show_progress=False)
    train(_tiny(episodes=12, seed=1, validate_every=6), tmp_path / "d", show_progress=False)

    def weights(name: str) -> dict:
        return torch.load(tmp_path / name / "checkpoint.pt", weights_only=False)["model"]

    a, b, c, d = (weights(x) for x in "abcd")
    assert all(torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]) for k in a)
    assert not all(torch.equal(a[k], d[k]) for k in a)
    log = json.loads((tmp_path / "c" / "train_log.json").read_text())
    assert [e["episode"] for e in log["log"]] == list(range(1, 13)) and "validation_r" in log["log"][-1]
    with pytest.raises(AromaError, match="other settings"):
        train(_tiny(episodes=20, seed=5, validate_every=6), tmp_path / "a", resume=True, show_progress=False)


def test_demonstrations_teach_each_demonstrators_choices(tmp_path: Path) -> None:
    """DQfD pre-training alone (no episode of the agent's own): agents taught by adaptive betweenness and by
    the one-step greedy policy each choose as their demonstrator did on most states of fresh graphs, which
    the same network before pre-training does not."""
    from aroma.dismantle.demonstrations import demonstrator_action, play

    names = ("betweenness", "greedy")
    models = {}
    for name in names:
        config = replace(_tiny(episodes=1), demonstrations=(name,), demo_graphs=30, pretrain_steps=300, margin=0.5)
        trainer = Trainer(config, tmp_path / name)
        models["untrained"] = copy.deepcopy(trainer.model).eval()
        trainer.pretrain()
        models[name] = trainer.model.eval()
    rng = np.random.default_rng(11)
    agree = {(model, name): [] for model in models for name in names}
    for kind in ("ba", "er", "ws") * 3:
        network = synthetic(kind, int(rng.integers(10, 17)), rng)
        for state in play(network, "lcc", "betweenness", "v2").states + play(network, "lcc", "greedy", "v2").states:
            for model, net in models.items():
                with torch.no_grad():
                    mine = int(torch.argmax(net.q_values(state)))
                for name in names:
                    agree[model, name].append(mine == demonstrator_action(name, state, "v2"))
    share = {key: float(np.mean(v)) for key, v in agree.items()}
    assert share["betweenness", "betweenness"] >= 0.85 and share["greedy", "greedy"] >= 0.85, share
    assert share["untrained", "betweenness"] < 0.6 and share["untrained", "greedy"] < 0.6, share
    with pytest.raises(AromaError, match="unknown demonstrator"):
        Trainer(replace(_tiny(), demonstrations=("oracle",)), tmp_path / "bad")
    with pytest.raises(AromaError, match="lacks"):
        Trainer(replace(_tiny(), demonstrations=("greedy",), q=QConfig(features="v1")), tmp_path / "bad")


# --- the Cypher readers and the command on a real built subset graph (hallmarks P53 and apoptosis) ---


def test_pathway_reader_returns_the_real_subgraph(subset_store: GraphStore) -> None:
    from aroma.dismantle.readers import RECEPTOR_TERM, hallmark_network, pathway_network, receptor_terms

    network = hallmark_network(subset_store, "apoptosis")
    assert network.name == "msigdb:HALLMARK_APOPTOSIS" and network.meta["pathway_name"]
    members = subset_store.run("MATCH (:Pathway {id: 'msigdb:HALLMARK_APOPTOSIS'})<-[:MEMBER_OF]-(g:Gene) "
                               "RETURN g.symbol AS s").rows
    assert sorted(network.names) == sorted(r["s"] for r in members) and network.n > 100
    pairs = subset_store.run(
        "MATCH (:Pathway {id: 'msigdb:HALLMARK_APOPTOSIS'})<-[:MEMBER_OF]-(a:Gene)-[r:INTERACTS_WITH]->(b:Gene)"
        "-[:MEMBER_OF]->(:Pathway {id: 'msigdb:HALLMARK_APOPTOSIS'}) WHERE r.combined_score >= 700 "
        "RETURN a.symbol AS a, b.symbol AS b").rows
    strong = pathway_network(subset_store, "msigdb:HALLMARK_APOPTOSIS", min_score=700)
    got = {frozenset((strong.names[i], strong.names[j])) for i, j in strong.edges.tolist()}
    assert got == {frozenset((r["a"], r["b"])) for r in pairs} and len(got) > 50
    assert len(strong.edges) < len(network.edges)
    # receptors (GO signaling receptor activity and below) are the sources
    assert network.meta["sources"] == "receptors"
    assert {"ERBB2", "CD44"} <= {network.names[i] for i in np.flatnonzero(network.sources)}
    terms = receptor_terms(subset_store)  # GO:0038023 and below (transmembrane signaling receptor activity)
    assert {RECEPTOR_TERM, "GO:0004888"} <= set(terms) and receptor_terms(subset_store) is terms  # read once
    reactome = subset_store.run("MATCH (p:Pathway {source: 'reactome'})<-[:MEMBER_OF]-(:Gene) "
                                "RETURN p.id AS id, count(*) AS n ORDER BY n DESC, id LIMIT 1").rows[0]
    assert pathway_network(subset_store, reactome["id"]).n == reactome["n"]


def test_gene_list_and_whole_graph_readers(subset_store: GraphStore) -> None:
    from aroma.dismantle.readers import gene_kg_network, gene_list_network, trrust_network

    network = gene_list_network(subset_store, ["TP53", "MDM2", "CDKN1A", "BAX"])
    assert network.names == ["TP53", "MDM2", "CDKN1A", "BAX"] and len(network.edges) >= 3
    with pytest.raises(AromaError, match="NOTAGENE"):
        gene_list_network(subset_store, ["TP53", "NOTAGENE"])
    with pytest.raises(AromaError, match="not in the graph"):
        from aroma.dismantle.readers import pathway_network
        pathway_network(subset_store, "R-HSA-0")
    whole = gene_kg_network(subset_store)
    count = subset_store.run("MATCH (:Gene)-[r:INTERACTS_WITH]->(:Gene) RETURN count(r) AS n").rows[0]["n"]
    assert len(whole.edges) == count
    trrust = trrust_network(subset_store)
    assert trrust.sources.sum() > 5 and trrust.meta["sources"] == "transcription_factors"


def test_run_command_writes_json_table_and_png(subset_store: GraphStore, tiny_agent: Path, data_root: Path,
                                               tmp_path: Path) -> None:
    db = str(subset_store.backend.server.directory)
    result = CliRunner().invoke(app, ["dismantle", "run", "--db", db, "--hallmark", "P53_PATHWAY", "--agent",
                                      str(tiny_agent), "--out", str(tmp_path), "--cell-line", "k562",
                                      "--perturbqa", str(data_root / "perturbqa"), "--polish", "2", "--plan", "4"])
    assert result.exit_code == 0, result.output
    assert "adaptive_betweenness" in result.output and "Spearman" in result.output
    report = json.loads((tmp_path / "dismantle.json").read_text())
    methods = {m["method"]: m for m in report["methods"]}
    assert set(methods) == {name + suffix for name in ("agent", "agent+plan", *ATTACKS) for suffix in ("", "+polish")}
    assert all(methods[m + "+polish"]["r"] <= methods[m]["r"] + 1e-9 for m in ("agent", "agent+plan", *ATTACKS))
    assert methods["agent+plan"]["r"] <= methods["agent"]["r"] + 1e-9
    assert all(sorted(m["order"]) == sorted(methods["agent"]["order"]) for m in methods.values())
    assert methods["agent"]["r"] == pytest.approx(np.mean(methods["agent"]["curve"][1:]), rel=1e-4)  # curve rounded
    assert report["perturbqa"]["K562"]["agent"]["genes"] > 5
    assert (tmp_path / "dismantle.png").stat().st_size > 10_000
    bad = CliRunner().invoke(app, ["dismantle", "run", "--db", db, "--genes", "TP53", "--pathway", "R-HSA-1"])
    assert bad.exit_code == 1 and "exactly one network" in bad.output
    no_agent = CliRunner().invoke(app, ["dismantle", "run", "--db", db, "--hallmark", "P53_PATHWAY", "--plan", "4"])
    assert no_agent.exit_code == 1 and "--plan needs a trained agent" in no_agent.output


def test_knockdown_effects_use_the_training_split_only(data_root: Path) -> None:
    from aroma.data.perturbqa import read_cell_line
    from aroma.dismantle.runner import knockdown_effects

    effects = knockdown_effects(data_root / "perturbqa", "k562")
    pairs = read_cell_line(data_root / "perturbqa", "k562")
    test_only = {p.perturbed for p in pairs if p.split == "test"} - {p.perturbed for p in pairs if p.split == "train"}
    assert test_only and not (test_only & set(effects))
    gene = sorted(effects)[0]
    rows = [p for p in pairs if p.perturbed == gene and p.split == "train"]
    assert effects[gene] == pytest.approx(sum(p.label != 0 for p in rows) / len(rows))


# a small Watts-Strogatz graph on which neither adaptive betweenness nor the one-step greedy policy is optimal
SMALL_WORLD = Network.from_pairs("small-world", [str(i) for i in range(11)], [
    (0, 1), (0, 2), (0, 10), (1, 3), (1, 4), (1, 10), (2, 3), (2, 4), (2, 9), (3, 4), (3, 5), (4, 5), (4, 6),
    (4, 7), (5, 6), (5, 7), (6, 7), (6, 8), (7, 8), (8, 9), (8, 10), (9, 10)])


@pytest.mark.parametrize("objective", ["lcc", "pairwise"])
def test_beam_demonstrator_finds_what_single_policies_miss(objective: str) -> None:
    """The beam search finds the optimal order (exhaustive search) where both policies it draws its candidates
    from fall short, its return is exactly -R of its order, its states are the full features the agent sees
    (the beam itself ranks by three columns), and ``best_demonstration`` keeps it."""
    from aroma.dismantle.demonstrations import beam, best_demonstration, play
    from aroma.dismantle.environment import finish_order

    optimal = best_r(SMALL_WORLD, objective)
    singles = [-play(SMALL_WORLD, objective, name, "v2").total for name in ("betweenness", "greedy")]
    found = beam(SMALL_WORLD, objective, "v2", width=8, expand=3)
    order = [int(state.nodes[a]) for state, a in zip(found.states, found.actions)]
    r = robustness(curve(SMALL_WORLD, finish_order(SMALL_WORLD, order, objective), objective))
    assert min(singles) > optimal + 1e-3 and r == pytest.approx(optimal) and -found.total == pytest.approx(r)
    env = DismantleEnv(SMALL_WORLD, objective, feature_set="v2")
    for state, node in zip(found.states, order):
        seen = env.observe()
        assert np.array_equal(state.nodes, seen.nodes) and torch.equal(state.x, seen.x)
        env.remove(node)
    kept = best_demonstration(SMALL_WORLD, objective, ("betweenness", "greedy", "beam"), "v2", beam_width=8,
                              beam_expand=3)
    assert kept.demonstrator == "beam"


# a small-world graph on which adaptive betweenness is not optimal but the same knockdowns reordered are
REORDERED = Network.from_pairs("reordered", [str(i) for i in range(12)], [
    (0, 1), (0, 2), (0, 3), (0, 11), (1, 2), (1, 3), (1, 7), (1, 10), (1, 11), (2, 3), (2, 8), (3, 5), (3, 9),
    (4, 6), (4, 9), (5, 6), (5, 7), (6, 7), (6, 8), (7, 8), (8, 9), (8, 10), (9, 11), (10, 11)])


@pytest.mark.parametrize("objective", ["lcc", "pairwise"])
def test_polish_reorders_a_demonstration_to_the_optimum(objective: str) -> None:
    """Local search over adaptive betweenness's knockdowns reaches the optimal R (exhaustive search) with the
    same knockdowns in another order; the replayed episode returns exactly -R; an optimum is left as it is."""
    from aroma.dismantle.demonstrations import play, polish
    from aroma.dismantle.environment import finish_order

    optimal = best_r(REORDERED, objective)
    plain = play(REORDERED, objective, "betweenness", "v2")
    polished = polish(REORDERED, objective, plain, "v2")
    removed = [[int(state.nodes[a]) for state, a in zip(e.states, e.actions)] for e in (plain, polished)]
    r = robustness(curve(REORDERED, finish_order(REORDERED, removed[1], objective), objective))
    assert -plain.total > optimal + 1e-3 and r == pytest.approx(optimal) and -polished.total == pytest.approx(r)
    assert polished.demonstrator == "betweenness+polish" and sorted(removed[0]) == sorted(removed[1])
    assert removed[0] != removed[1]
    assert polish(REORDERED, objective, polished, "v2") is polished


@pytest.mark.parametrize("objective", ["lcc", "pairwise"])
def test_polished_orders_never_lose_and_reach_the_optimum(objective: str) -> None:
    """``compare(polish=...)`` adds every method's order after local search: never worse than the method,
    the same genes, and adaptive betweenness's order polished is optimal (exhaustive search) on REORDERED."""
    from aroma.dismantle.runner import compare

    report = compare(REORDERED, objective, polish=3)
    methods = {m.method: m for m in report.methods}
    assert set(methods) == {name + suffix for name in ATTACKS for suffix in ("", "+polish")}
    for name in ATTACKS:
        assert methods[name + "+polish"].r <= methods[name].r + 1e-12
        assert sorted(methods[name + "+polish"].order) == sorted(methods[name].order)
    assert methods["adaptive_betweenness"].r > best_r(REORDERED, objective) + 1e-3
    assert methods["adaptive_betweenness+polish"].r == pytest.approx(best_r(REORDERED, objective))


def test_ensemble_members_share_demonstrations_and_average_q(tmp_path: Path) -> None:
    """``members`` = 2: both members learn from the one set of demonstrations member 0 played, start from
    their own seeds, and the saved agent's Q is the mean of theirs; its logged validation R is its own; a
    resumed run trains nothing again and keeps the same agent."""
    config = replace(_tiny(episodes=4), demonstrations=("betweenness", "greedy"), demo_graphs=6, pretrain_steps=20,
                     polish_passes=1, members=2)
    summary = train(config, tmp_path, show_progress=False)
    agent = Agent.load(tmp_path)
    members = [Agent.load(tmp_path / f"member-{i}") for i in range(2)]
    checkpoints = [torch.load(tmp_path / f"member-{i}" / "checkpoint.pt", weights_only=False) for i in range(2)]
    assert len(agent.members) == 2 and len(checkpoints[0]["demos"]) > 0
    assert [t.action for t in checkpoints[0]["demos"]] == [t.action for t in checkpoints[1]["demos"]]
    assert [c["config"]["seed"] for c in checkpoints] == [0, 1]
    state = DismantleEnv(synthetic("ba", 14, np.random.default_rng(3)), "lcc", feature_set="v2").observe()
    with torch.no_grad():
        each = [m.q_values(state) for m in members]
        assert not torch.allclose(each[0], each[1])
        assert torch.allclose(agent.q_values(state), (each[0] + each[1]) / 2)
    validation = Trainer(replace(config, members=1), tmp_path / "v").validation
    assert summary["best_validation_r"] == pytest.approx(mean_r(agent, validation))
    assert summary["member_validation_r"] == [m["best_validation_r"] for m in
                                              json.loads((tmp_path / "train_log.json").read_text())["members"]]
    before = (tmp_path / "member-1" / "checkpoint.pt").read_bytes()
    again = train(config, tmp_path, resume=True, show_progress=False)
    assert again["best_validation_r"] == summary["best_validation_r"]
    assert (tmp_path / "member-1" / "checkpoint.pt").read_bytes() == before


def test_degree_and_influence_demonstrators_remove_the_baselines_choice() -> None:
    """Every step of ``degree`` removes a node of highest residual degree and every step of ``influence`` one of
    highest collective influence (radius 2), both computed here from the state's own edges."""
    import scipy.sparse as sp

    from aroma.dismantle.demonstrations import play
    from aroma.dismantle.features import collective_influence

    rng = np.random.default_rng(5)
    for kind in ("ba", "er", "ws"):
        network = synthetic(kind, 30, rng)
        for name in ("degree", "influence"):
            episode = play(network, "lcc", name, "v2")
            for state, action in zip(episode.states, episode.actions):
                k = len(state.nodes)
                rows, cols = state.edge_index.numpy()
                adjacency = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(k, k))
                score = np.asarray(adjacency.sum(axis=1)).ravel() if name == "degree" \
                    else collective_influence(adjacency)
                assert score[action] >= score.max() - 1e-6 * max(score.max(), 1.0), (name, state.nodes[action])


def test_planning_never_loses_to_the_greedy_agent_and_finds_what_it_misses(tiny_agent: Path) -> None:
    """``plan`` with a beam of one partial attack and one proposal is the greedy agent, order for order; a wider
    beam guided by the same Q finds a better attack on SMALL_WORLD, where the greedy agent misses the optimum,
    and is never worse than it on the other known graphs; the same call gives the same order."""
    from aroma.dismantle.planning import plan

    agent = Agent.load(tiny_agent)
    for network in (SMALL_WORLD, REORDERED, STAR, PATH, BARBELL):
        greedy = agent.attack(network, 0.0).order
        assert plan(agent, network, width=1, expand=1).order == greedy
        wide = plan(agent, network, width=4, expand=2).order
        assert sorted(wide) == list(range(network.n)) and wide == plan(agent, network, width=4, expand=2).order
        assert plan(agent, network, width=4, expand=2, greedy=greedy).order == wide  # the caller's greedy order
        r_greedy, r_wide = (robustness(curve(network, o, "lcc")) for o in (greedy, wide))
        assert r_wide <= r_greedy + 1e-12
        if network is SMALL_WORLD:
            assert r_greedy > best_r(network, "lcc") + 1e-3 and r_wide < r_greedy - 1e-3
