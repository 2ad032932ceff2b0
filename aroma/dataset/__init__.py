"""The PerturbReason dataset: PerturbQA labels joined with knowledge-graph evidence and reasoning targets."""
