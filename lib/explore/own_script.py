"""Your own network as a standalone PyTorch script: the nn.Sequential that lib.explore.own_network.build_model builds
and train_network's loop, with the page's settings and comments in the reader's language. It draws x, y and the
weights in train_network's order, so it prints the page's losses; tests/test_own_downloads.py runs it to check."""
from __future__ import annotations

from lib.explore.own_network import CLASS_NAMES, NetworkConfig
from lib.tutorial.backward import LEAKY_SLOPE
from lib.tutorial.tutorial_code import BODIES, comments, number

# each activation as the script writes it (lib.explore.own_network.MODULES builds the same modules)
ACTIVATION_CALLS = {name: f"torch.nn.{cls}()" for name, cls in CLASS_NAMES.items()}
ACTIVATION_CALLS["leaky_relu"] = f"torch.nn.LeakyReLU(negative_slope={LEAKY_SLOPE})"

_CODE = '''## own_header
import torch

## seed
torch.manual_seed({seed})

## own_sizes
N, D_IN, D_OUT = {n}, {d_in}, {d_out}
{width_names} = {widths}

## data
x = torch.randn(N, D_IN{dtype_arg})
y = torch.randn(N, D_OUT{dtype_arg})

## own_sequential
model = torch.nn.Sequential(
{layers}
){to_dtype}

## own_loss_fn_{reduction}
loss_fn = torch.nn.MSELoss(reduction='{reduction}')
'''
# stage 4's loop as the tutorial writes it (lib.tutorial.tutorial_code), as train_network runs it
_LOOP = BODIES["nn_module"][BODIES["nn_module"].index("\nlearning_rate = "):]


def network_script(cfg: NetworkConfig, lang: str = "en") -> str:
    """The network of `cfg` built and trained as a plain script, as the tutorial's nn stage writes it."""
    float64 = cfg.dtype == "float64"
    names = ["D_IN", *(f"H{k}" for k in range(1, len(cfg.widths) + 1)), "D_OUT"]
    linears = [f"    torch.nn.Linear({a}, {b})," for a, b in zip(names, names[1:])]
    activation = f"    {ACTIVATION_CALLS[cfg.activation]},"
    layers = [line for linear in linears[:-1] for line in (linear, activation)] + linears[-1:]
    values = dict(seed=cfg.seed, n=cfg.n, d_in=cfg.d_in, d_out=cfg.d_out, width_names=", ".join(names[1:-1]),
                  widths=", ".join(map(str, cfg.widths)), dtype_arg=", dtype=torch.float64" if float64 else "",
                  layers="\n".join(layers), to_dtype=".to(torch.float64)" if float64 else "",
                  reduction=cfg.reduction, lr=number(cfg.lr), steps=cfg.steps)
    code = (_CODE + _LOOP).format(**values)
    return comments(code, lang, seed=cfg.seed)
