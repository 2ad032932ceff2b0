"""Evaluation with PerturbQA's protocol: the metrics, ``aroma bench`` (every method, every cell line),
``aroma eval`` (a trained language model beside the other methods), and their reports and plots."""
