"""``aroma dismantle``: a deep Q-learning agent that learns which knockdowns break a gene network.

Modules: ``network`` (the graph), ``objectives`` (what an attack minimises, R), ``environment``
(the decision process and node features), ``agent`` (the PyG Q-network), ``train`` (DQN),
``baselines`` (classic attacks), ``readers`` (named Cypher), ``runner`` (comparisons, PerturbQA check),
``plot`` and ``cli``. Import from the modules; this package imports nothing heavy.
"""
