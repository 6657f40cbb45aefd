"""Training LoRA adapters from each tenant's own data: dataset builders (next to the data they use), TRL SFT on the
gpu queue, and an evaluation harness that scores the base model and the candidate in the same run."""
