"""The Q-function (a PyG graph network over the residual network) and the agent that attacks with it."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv, global_max_pool, global_mean_pool
from torch_geometric.utils import to_torch_csr_tensor

from aroma.dismantle.environment import DismantleEnv, State, finish_order
from aroma.dismantle.features import check_feature_set
from aroma.dismantle.network import Network
from aroma.dismantle.objectives import check_objective
from aroma.errors import AromaError

AGENT_FILE = "agent.pt"
REWARD_SCALE = 10.0  # the default factor training multiplies the rewards (and so Q) by; R is unaffected
# torch announces its CSR support as beta once per process; the products used here are stable
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)


@dataclass
class QConfig:
    """Shape of the Q-network and the objective it was trained for."""

    objective: str = "lcc"
    hidden: int = 64
    layers: int = 3
    embedding_dim: int = 0  # > 0: learned graph embeddings of that width are part of the input
    embedding_proj: int = 16
    features: str = "v2"  # node feature set (aroma.dismantle.features); agents saved before it existed use v1
    skip: bool = True  # Q = linear(node features) + the graph network's term; agents saved before it: False


class QNetwork(nn.Module):
    """Q(s, v) for every candidate node v: GraphSAGE layers, then each node beside a graph summary; with
    ``skip``, plus a linear score of the node's own features, so that a linear policy (such as "highest
    betweenness") is a starting point the graph network only has to correct."""

    def __init__(self, config: QConfig) -> None:
        super().__init__()
        self.config = config
        width = len(check_feature_set(config.features)) + (config.embedding_proj if config.embedding_dim else 0)
        self.project = nn.Linear(config.embedding_dim, config.embedding_proj) if config.embedding_dim else None
        self.input = nn.Linear(width, config.hidden)
        self.convs = nn.ModuleList(SAGEConv(config.hidden, config.hidden) for _ in range(config.layers))
        self.head = nn.Sequential(nn.Linear(3 * config.hidden, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))
        self.linear = nn.Linear(width, 1) if config.skip else None
        if config.skip:  # start from the linear score alone; the graph network's term grows as it learns
            nn.init.zeros_(self.head[-1].weight)
            nn.init.zeros_(self.head[-1].bias)

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor, embeddings: Tensor | None = None) -> Tensor:
        if self.project is not None:
            if embeddings is None:
                embeddings = x.new_zeros(x.shape[0], self.config.embedding_dim)
            x = torch.cat([x, self.project(embeddings)], dim=1)
        h = torch.relu(self.input(x))
        for conv in self.convs:
            h = h + torch.relu(conv(h, edge_index))
        summary = torch.cat([global_mean_pool(h, batch), global_max_pool(h, batch)], dim=1)[batch]
        q = self.head(torch.cat([h, summary], dim=1))
        return (q if self.linear is None else q + self.linear(x)).squeeze(-1)

    def q_values(self, state: State) -> Tensor:
        """Q for one state; messages pass by sparse matrix products (no per-edge message tensor)."""
        n = state.x.shape[0]
        batch = torch.zeros(n, dtype=torch.long)
        with torch.sparse.check_sparse_tensor_invariants(False):  # PyG builds a valid CSR; skip the checks
            adjacency = to_torch_csr_tensor(state.edge_index.flip(0), size=(n, n))  # row = target, as adj_t
        return self(state.x, adjacency, batch, state.embeddings)


@dataclass
class AttackResult:
    """A full removal order and how the agent got there."""

    order: list[int]
    steps: int
    seconds: float
    cpu_seconds: float = 0.0  # this process's CPU time (wall time overstates it on a loaded machine)


class Agent:
    """A trained Q-network, or an ensemble of them (Q is the members' mean); attacks greedily, removing the
    top-Q share of candidates at each step. ``reward_scale`` is the factor its training multiplied the
    rewards by, so Q is in units of ``reward_scale`` × R."""

    def __init__(self, model: QNetwork | list[QNetwork], reward_scale: float = REWARD_SCALE) -> None:
        self.members = [m.eval() for m in (model if isinstance(model, list) else [model])]
        self.reward_scale = reward_scale
        if len({repr(m.config) for m in self.members}) > 1:
            raise AromaError("the members of an agent must share one configuration (objective, features, shape)")
        self.model = self.members[0]

    def q_values(self, state: State) -> Tensor:
        """Q of every candidate of the state: the members' mean."""
        if len(self.members) == 1:
            return self.model.q_values(state)
        return torch.stack([m.q_values(state) for m in self.members]).mean(dim=0)

    @property
    def objective(self) -> str:
        return self.model.config.objective

    def attack(self, network: Network, step_fraction: float = 0.01) -> AttackResult:
        """Remove ``max(1, floor(step_fraction * N))`` top-Q nodes per step until the objective bottoms out."""
        start, cpu = time.perf_counter(), time.process_time()
        if self.model.config.embedding_dim and network.embeddings is not None \
                and network.embeddings.shape[1] != self.model.config.embedding_dim:
            raise AromaError(f"agent expects {self.model.config.embedding_dim}-d embeddings, network "
                             f"{network.name} has {network.embeddings.shape[1]}-d")
        per_step = max(1, math.floor(step_fraction * network.n))
        env = DismantleEnv(network, self.objective, feature_set=self.model.config.features)
        steps = 0
        with torch.inference_mode():
            state = env.observe()
            while state is not None:
                q = self.q_values(state)
                top = torch.topk(q, min(per_step, len(q))).indices.numpy()
                env.remove(state.nodes[top])
                steps += 1
                state = env.observe()
        order = finish_order(network, env.removed, self.objective)
        return AttackResult(order, steps, time.perf_counter() - start, time.process_time() - cpu)

    def save(self, directory: Path, extra: dict | None = None) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / AGENT_FILE
        record = {"config": asdict(self.model.config), "state_dict": self.model.state_dict(), "extra": extra or {}}
        if len(self.members) > 1:
            record["members"] = [m.state_dict() for m in self.members]
        torch.save(record, path)
        return path

    @classmethod
    def load(cls, directory: Path) -> Agent:
        path = Path(directory) / AGENT_FILE
        if not path.is_file():
            raise AromaError(f"no trained agent at {path} (train one with `aroma dismantle train --out DIR`)")
        record = torch.load(path, weights_only=False)
        config = QConfig(**{"features": "v1", "skip": False, **record["config"]})
        check_objective(config.objective)
        members = []
        for state_dict in record.get("members", [record["state_dict"]]):
            members.append(QNetwork(config))
            members[-1].load_state_dict(state_dict)
        return cls(members, (record.get("extra") or {}).get("train", {}).get("reward_scale", REWARD_SCALE))

