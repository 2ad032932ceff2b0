"""``aroma dismantle train``: deep Q-learning (replay, target network, ε-greedy, n-step returns) on
synthetic graphs and optionally on Gene-KG subgraphs, optionally from demonstrations first (DQfD);
seeded, checkpointed, resumable."""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

from aroma.dismantle.agent import REWARD_SCALE, Agent, QConfig, QNetwork
from aroma.dismantle.demonstrations import Demonstration, best_demonstration, check_demonstrators
from aroma.dismantle.environment import DismantleEnv, State
from aroma.dismantle.network import Network, synthetic
from aroma.dismantle.objectives import check_objective, curve, robustness
from aroma.errors import AromaError

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Everything that determines a training run (with the seed, it reproduces exactly)."""

    objective: str = "lcc"
    episodes: int = 1500
    min_nodes: int = 30
    max_nodes: int = 60
    kinds: tuple[str, ...] = ("ba", "er", "ws")
    source_share: float = 0.1
    n_step: int = 3
    gamma: float = 1.0
    lr: float = 2.5e-4
    batch_size: int = 32
    buffer_size: int = 20000
    warmup: int = 300
    learn_every: int = 4  # environment steps per gradient step
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_decay_episodes: int = 750  # ε falls linearly to eps_end over this many episodes
    target_every: int = 100  # gradient steps between target-network copies
    validate_every: int = 25
    validation_graphs: int = 16
    checkpoint_every: int = 100
    real_share: float = 0.0  # share of episodes on Gene-KG subgraphs (when some are given)
    double: bool = True  # double DQN: the online network picks the next action, the target network scores it
    reward_scale: float = REWARD_SCALE  # rewards (and so Q) are multiplied by this; R is unaffected
    linear_lr_scale: float = 10.0  # learning rate of the linear skip (QConfig.skip) relative to ``lr``
    # DQfD (Hester et al. 2018): off while ``demonstrations`` is empty
    demonstrations: tuple[str, ...] = ()  # demonstrators (aroma.dismantle.demonstrations), best per graph kept
    demo_graphs: int = 200  # training graphs the demonstrators play (drawn as the training episodes' graphs)
    pretrain_steps: int = 1000  # gradient steps on demonstrations alone before the first episode
    demo_share: float = 0.25  # share of every later batch drawn from the demonstrations
    margin: float = 0.1  # large-margin loss: Q(s, a_E) >= Q(s, a) + margin for every other a (scaled reward units)
    margin_weight: float = 1.0
    beam_width: int = 24  # the ``beam`` demonstrator's width and candidates per partial attack (see beam())
    beam_expand: int = 6
    polish_passes: int = 0  # sweeps of local search over each demonstrator's episode (demonstrations.polish)
    members: int = 1  # > 1: an ensemble of this many Q-networks (seeds seed, seed+1, ...) on one set of demonstrations
    seed: int = 0
    q: QConfig = field(default_factory=QConfig)


@dataclass
class Transition:
    state: Data
    action: int
    ret: float
    next_state: Data | None
    discount: float


def _data(state: State) -> Data:
    data = Data(x=state.x, edge_index=state.edge_index)
    if state.embeddings is not None:
        data.embeddings = state.embeddings
    return data


def n_step_transition(steps: list[tuple[Data, int, float]], next_states: list[Data | None], t: int,
                      n_step: int, gamma: float) -> Transition:
    """Step ``t``'s transition with the discounted return of the next ``n_step`` rewards (fewer at the end);
    ``next_states[i]`` is the state after step ``i`` (None once the episode is over)."""
    horizon = min(t + n_step, len(steps))
    ret = sum(gamma ** (i - t) * steps[i][2] for i in range(t, horizon))
    return Transition(steps[t][0], steps[t][1], ret, next_states[horizon - 1], gamma ** (horizon - t))


def demonstration_transitions(episode: Demonstration, n_step: int, gamma: float) -> list[Transition]:
    """A demonstrator's episode as n-step transitions."""
    steps = [(_data(s), a, r) for s, a, r in zip(episode.states, episode.actions, episode.rewards)]
    next_states = [step[0] for step in steps[1:]] + [None]
    return [n_step_transition(steps, next_states, t, n_step, gamma) for t in range(len(steps))]


def large_margin_loss(q: torch.Tensor, batch: Batch, actions: torch.Tensor, count: int, margin: float) -> torch.Tensor:
    """DQfD's supervised loss over the first ``count`` graphs of the batch (the demonstrations):
    max_a [Q(s, a) + margin if a != a_E] - Q(s, a_E), zero once the expert's action leads by the margin."""
    taken = batch.ptr[:-1] + actions
    bonus = torch.full_like(q, margin)
    bonus[taken] = 0.0
    top = scatter(q + bonus, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="max")
    return (top[:count] - q[taken[:count]]).mean()


def _epsilon(config: TrainConfig, episode: int) -> float:
    share = min(1.0, episode / max(1, config.eps_decay_episodes))
    return config.eps_start + share * (config.eps_end - config.eps_start)


def _q(model: QNetwork, batch: Batch) -> torch.Tensor:
    return model(batch.x, batch.edge_index, batch.batch, getattr(batch, "embeddings", None))


def _batch_q(model: QNetwork, states: list[Data]) -> tuple[torch.Tensor, Batch]:
    batch = Batch.from_data_list(states)
    return _q(model, batch), batch


def mean_r(agent: Agent, networks: list[Network]) -> float:
    return float(np.mean([robustness(curve(net, agent.attack(net, 0.0).order, agent.objective)) for net in networks]))


class Trainer:
    """Holds the model, target network, optimiser, replay buffer and every random generator."""

    def __init__(self, config: TrainConfig, out: Path, real: list[Network] | None = None,
                 validation: list[Network] | None = None) -> None:
        self.config = config
        check_objective(config.objective)
        config.q.objective = config.objective
        if config.n_step < 1:
            raise AromaError(f"n_step must be at least 1, got {config.n_step}")
        check_demonstrators(config.demonstrations, config.q.features)
        if not 0.0 <= config.demo_share < 1.0:
            raise AromaError(f"demo_share must be in [0, 1), got {config.demo_share}")
        self.out = out
        self.real = real or []
        self.random = random.Random(config.seed)
        self.rng = np.random.default_rng(config.seed)
        torch.manual_seed(config.seed)
        self.model = QNetwork(config.q)
        self.target = copy.deepcopy(self.model)
        linear = list(self.model.linear.parameters()) if self.model.linear is not None else []
        rest = [p for p in self.model.parameters() if all(p is not q for q in linear)]
        groups = [{"params": rest}, {"params": linear, "lr": config.lr * config.linear_lr_scale}]
        self.optimizer = torch.optim.Adam(groups, lr=config.lr)
        self.buffer: list[Transition] = []
        self.demos: list[Transition] = []  # never overwritten
        self.chosen: dict[str, int] = {}  # how often each demonstrator's episode was the one kept
        self.cursor = 0
        self.episode = 0
        self.updates = 0
        self.steps = 0
        self.best = float("inf")
        self.cpu_seconds = 0.0  # CPU time of this process spent training, over all (resumed) runs
        self.log: list[dict] = []
        validation_rng = np.random.default_rng(config.seed + 10_000)
        self.validation = validation or [self._graph(validation_rng, synthetic_only=True)
                                         for _ in range(config.validation_graphs)]

    def _graph(self, rng: np.random.Generator, synthetic_only: bool = False) -> Network:
        c = self.config
        if self.real and not synthetic_only and rng.random() < c.real_share:
            return self.real[int(rng.integers(len(self.real)))]
        kind = c.kinds[int(rng.integers(len(c.kinds)))]
        return synthetic(kind, int(rng.integers(c.min_nodes, c.max_nodes + 1)), rng, c.source_share)

    def _push(self, transition: Transition) -> None:
        if len(self.buffer) < self.config.buffer_size:
            self.buffer.append(transition)
        else:
            self.buffer[self.cursor] = transition
        self.cursor = (self.cursor + 1) % self.config.buffer_size

    def _demo_count(self) -> int:
        return round(self.config.batch_size * self.config.demo_share) if self.demos else 0

    def _learn(self, demo_count: int = 0) -> float:
        """One gradient step on a batch whose first ``demo_count`` samples are demonstrations (TD loss on all,
        plus the large-margin loss on those) and the rest from the replay buffer."""
        c = self.config
        sample = [self.demos[i] for i in self.rng.integers(len(self.demos), size=demo_count)] if demo_count else []
        if demo_count < c.batch_size:
            sample += [self.buffer[i] for i in self.rng.integers(len(self.buffer), size=c.batch_size - demo_count)]
        q, batch = _batch_q(self.model, [t.state for t in sample])
        actions = torch.tensor([t.action for t in sample])
        q_taken = q[batch.ptr[:-1] + actions]
        target = torch.tensor([t.ret for t in sample], dtype=torch.float32)
        alive = [i for i, t in enumerate(sample) if t.next_state is not None]
        if alive:
            with torch.no_grad():
                q_next, next_batch = _batch_q(self.target, [sample[i].next_state for i in alive])
                if c.double:
                    q_online = _q(self.model, next_batch)
                    top = torch.stack([q_online[a:b].argmax() + a for a, b in
                                       zip(next_batch.ptr[:-1].tolist(), next_batch.ptr[1:].tolist())])
                    best = q_next[top]
                else:
                    best = scatter(q_next, next_batch.batch, dim=0, dim_size=len(alive), reduce="max")
            discounts = torch.tensor([sample[i].discount for i in alive], dtype=torch.float32)
            target[alive] += discounts * best
        loss = torch.nn.functional.smooth_l1_loss(q_taken, target)
        if demo_count:
            loss = loss + c.margin_weight * large_margin_loss(q, batch, actions, demo_count, c.margin)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
        self.optimizer.step()
        self.updates += 1
        if self.updates % c.target_every == 0:
            self.target.load_state_dict(self.model.state_dict())
        return loss.item()

    def _episode(self) -> tuple[float, float]:
        """Play one ε-greedy episode, learning after every step; returns (episode return, mean loss)."""
        c = self.config
        env = DismantleEnv(self._graph(self.rng), c.objective, feature_set=c.q.features)
        eps = _epsilon(c, self.episode)
        steps: list[tuple[Data, int, float]] = []
        states: list[Data] = []
        losses: list[float] = []
        state = env.observe()
        while state is not None:
            if self.rng.random() < eps:
                action = int(self.rng.integers(len(state.nodes)))
            else:
                with torch.no_grad():
                    action = int(torch.argmax(self.model.q_values(state)))
            reward = env.remove(state.nodes[action]) * c.reward_scale
            steps.append((_data(state), action, reward))
            state = env.observe()
            states.append(None if state is None else _data(state))
            t = len(steps) - c.n_step
            if t >= 0 and state is not None:
                self._push(n_step_transition(steps, states, t, c.n_step, c.gamma))
            self.steps += 1
            if len(self.buffer) >= c.warmup and self.steps % c.learn_every == 0:
                losses.append(self._learn(self._demo_count()))
        for t in range(max(0, len(steps) - c.n_step), len(steps)):
            self._push(n_step_transition(steps, states, t, c.n_step, c.gamma))
        return sum(r for _, _, r in steps), float(np.mean(losses)) if losses else float("nan")

    def demonstrate(self) -> None:
        """The demonstrators play ``demo_graphs`` training graphs; the best episode per graph is kept."""
        c = self.config
        for _ in range(c.demo_graphs):
            episode = best_demonstration(self._graph(self.rng), c.objective, c.demonstrations, c.q.features,
                                         c.reward_scale, c.beam_width, c.beam_expand, c.polish_passes)
            self.chosen[episode.demonstrator] = self.chosen.get(episode.demonstrator, 0) + 1
            self.demos.extend(demonstration_transitions(episode, c.n_step, c.gamma))

    def pretrain(self) -> dict:
        """DQfD's first phase: the demonstrations (played here unless given), then ``pretrain_steps`` gradient
        steps on them alone."""
        if not self.demos:
            self.demonstrate()
        losses = [self._learn(self.config.batch_size) for _ in range(self.config.pretrain_steps)]
        return {"episode": 0, "demonstrations": len(self.demos), "best_demonstrator": self.chosen,
                "loss": float(np.mean(losses)) if losses else float("nan")}

    def _keep_if_best(self, entry: dict) -> None:
        """Validate; save the weights as the agent when they are the best so far."""
        entry["validation_r"] = self.validate()
        if entry["validation_r"] < self.best:
            self.best = entry["validation_r"]
            Agent(self.model).save(self.out, {"train": asdict(self.config), "validation_r": self.best,
                                              "episode": self.episode, "cpu_seconds": self.cpu_seconds})

    def validate(self) -> float:
        self.model.eval()
        value = mean_r(Agent(self.model), self.validation)
        self.model.train()
        return value

    def state_dict(self) -> dict:
        return {"config": asdict(self.config), "model": self.model.state_dict(), "target": self.target.state_dict(),
                "optimizer": self.optimizer.state_dict(), "buffer": self.buffer, "demos": self.demos,
                "cursor": self.cursor,
                "episode": self.episode, "updates": self.updates, "steps": self.steps, "best": self.best, "log": self.log,
                "cpu_seconds": self.cpu_seconds,
                "random": self.random.getstate(), "rng": self.rng.bit_generator.state,
                "torch": torch.get_rng_state()}

    def load_state_dict(self, state: dict) -> None:
        saved = {**asdict(TrainConfig()), **state["config"]}  # settings added since the checkpoint: defaults
        saved.pop("episodes", None)
        mine = asdict(self.config)
        mine.pop("episodes")
        if json.dumps(saved, sort_keys=True, default=str) != json.dumps(mine, sort_keys=True, default=str):
            raise AromaError("the checkpoint was trained with other settings; resume with the same ones "
                             "(only --episodes may change)")
        self.model.load_state_dict(state["model"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer, self.cursor = state["buffer"], state["cursor"]
        self.demos = state.get("demos", [])
        self.episode, self.updates, self.steps = state["episode"], state["updates"], state["steps"]
        self.best, self.log = state["best"], state["log"]
        self.cpu_seconds = state.get("cpu_seconds", 0.0)
        self.random.setstate(state["random"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch"])

    def checkpoint(self) -> None:
        tmp = self.out / (CHECKPOINT + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(self.out / CHECKPOINT)

    def run(self, show_progress: bool = True) -> dict:
        c = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        start, cpu = time.perf_counter(), time.process_time() - self.cpu_seconds
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("return {task.fields[ret]:.3f}  val R {task.fields[val]:.4f}"), TimeElapsedColumn())
        with Progress(*columns, disable=not show_progress) as progress:
            task = progress.add_task(f"DQN ({c.objective})", total=c.episodes, completed=self.episode, ret=0.0,
                                     val=self.best if self.best < float("inf") else float("nan"))
            if c.demonstrations and not self.log:
                entry = self.pretrain()
                self.cpu_seconds = entry["cpu_seconds"] = round(time.process_time() - cpu, 1)
                self._keep_if_best(entry)
                self.log.append(entry)
                self.checkpoint()
                progress.update(task, val=self.best)
            while self.episode < c.episodes:
                ret, loss = self._episode()
                self.episode += 1
                self.cpu_seconds = time.process_time() - cpu
                entry = {"episode": self.episode, "return": round(ret, 5), "loss": loss,
                         "epsilon": round(_epsilon(c, self.episode - 1), 4), "cpu_seconds": round(self.cpu_seconds, 1)}
                if self.episode % c.validate_every == 0 or self.episode == c.episodes:
                    self._keep_if_best(entry)
                self.log.append(entry)
                progress.update(task, advance=1, ret=ret, val=self.best)
                if self.episode % c.checkpoint_every == 0 or self.episode == c.episodes:
                    self.checkpoint()
        summary = {"episodes": self.episode, "updates": self.updates, "best_validation_r": self.best,
                   "seconds_this_run": round(time.perf_counter() - start, 2),
                   "cpu_seconds": round(self.cpu_seconds, 1), "objective": c.objective}
        (self.out / "train_log.json").write_text(json.dumps({"summary": summary, "log": self.log}, indent=1))
        return summary


def _trainer(config: TrainConfig, out: Path, resume: bool, real: list[Network] | None,
             validation: list[Network] | None) -> Trainer:
    trainer = Trainer(config, out, real, validation)
    checkpoint = out / CHECKPOINT
    if resume:
        if not checkpoint.is_file():
            raise AromaError(f"--resume: no checkpoint at {checkpoint}")
        trainer.load_state_dict(torch.load(checkpoint, weights_only=False))
    return trainer


def train(config: TrainConfig, out: Path, resume: bool = False, real: list[Network] | None = None,
          show_progress: bool = True, validation: list[Network] | None = None) -> dict:
    """Train one agent for ``config.objective`` into ``out`` (``agent.pt`` = best on the validation networks:
    ``validation`` when given, such as Gene-KG pathways of the validation split, else synthetic graphs).

    With ``config.members`` > 1, an ensemble: member i (seed ``seed + i``) trains into ``out/member-i`` on
    the demonstrations member 0 played and on member 0's validation networks, each keeping its own best
    weights, and ``out/agent.pt`` holds them all (Q is their mean)."""
    out = Path(out)
    if config.members <= 1:
        return _trainer(config, out, resume, real, validation).run(show_progress)
    summaries: list[dict] = []
    demos: list[Transition] = []
    for i in range(config.members):
        member_out = out / f"member-{i}"
        member = _trainer(replace(config, seed=config.seed + i, members=1), member_out,
                          resume and (member_out / CHECKPOINT).is_file(), real, validation)
        if demos and not member.log:
            member.demos = demos  # demonstrated once, by member 0
        summaries.append(member.run(show_progress))
        demos, validation = demos or member.demos, validation or member.validation
        del member  # its replay buffer
    start, cpu = time.perf_counter(), time.process_time()
    agent = Agent([Agent.load(out / f"member-{i}").model for i in range(config.members)], config.reward_scale)
    validation_r = mean_r(agent, validation)
    agent.save(out, {"train": asdict(config), "validation_r": validation_r,
                     "members": [s["best_validation_r"] for s in summaries]})
    summary = {"episodes": config.episodes, "members": config.members, "best_validation_r": validation_r,
               "member_validation_r": [s["best_validation_r"] for s in summaries],
               "seconds_this_run": round(sum(s["seconds_this_run"] for s in summaries) + time.perf_counter() - start, 2),
               "cpu_seconds": round(sum(s["cpu_seconds"] for s in summaries) + time.process_time() - cpu, 1),
               "objective": config.objective}
    (out / "train_log.json").write_text(json.dumps({"summary": summary, "members": summaries}, indent=1))
    return summary
