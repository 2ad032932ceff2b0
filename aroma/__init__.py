"""AROMA toolkit: knowledge graphs, evidence retrieval and multimodal models for perturbation reasoning."""

__version__ = "0.1.0"
