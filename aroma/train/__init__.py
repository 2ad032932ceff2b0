"""Training: link-prediction pretraining of the graph encoders, the classifier, SFT and GRPO."""
