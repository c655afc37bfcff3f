"""Shared test settings."""
import torch

# As in app.py: one intra-op thread. The browser test's server runs beside pytest on 2 cores, and
# oversubscribed OpenMP threads slow small matmuls down many times over.
torch.set_num_threads(1)
