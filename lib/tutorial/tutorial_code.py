"""The tutorial's code for a stage as the tutorial writes it, with a page's settings filled in and comments in the
reader's language. The stage page shows it first, and "this stage as a script" downloads the same text.

The loop is the tutorial's: no recorder, no helper; it prints the loss every 100 steps. One line is added, needed
to reproduce the page's losses: `torch.manual_seed` (and `random.seed` for DynamicNet) with the page's seed.
tests/test_tutorial_code.py runs this text and checks it against lib.tutorial.stages.run_stage, loss for loss.
"""
from __future__ import annotations

import re

from lib.tutorial.config import TrainConfig
from lib.text.i18n import t

# A line "## key" becomes the comment `code.<key>` (locales/*.toml) at that indentation, one "# " line per text line.
_COMMENT = re.compile(r"^(\s*)## ([a-z_]+)$")

_HEAD = '''## header
{random_import}import torch
'''

_SEED = '''
## seed
torch.manual_seed({seed}){random_seed}
'''

_SIZES = '''
## sizes
N, D_IN, H, D_OUT = {n}, {d_in}, {hidden}, {d_out}
'''

_RAW_DATA = '''
dtype = {dtype}
device = torch.device("{device}")
''' + _SIZES + '''
## data
x = torch.randn(N, D_IN, device=device, dtype=dtype)
y = torch.randn(N, D_OUT, device=device, dtype=dtype)
'''

_NN_DATA = _SIZES + '''
## data
x = torch.randn(N, D_IN{dtype_arg})
y = torch.randn(N, D_OUT{dtype_arg})
'''

_RELU = '''

class {relu_name}(torch.autograd.Function):
    ## relu_class

    @staticmethod
    def forward(ctx, input):
        ## relu_forward
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        ## relu_backward
'''

_RELU_BACKWARD = '''        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input

'''

_BROKEN_BACKWARD = '''        ## broken_backward
        grad_input = grad_output.clone()
        return grad_input

'''

_TWO_LAYER_NET = '''

class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_IN, H, D_OUT):
        ## two_layer_init
        super(TwoLayerNet, self).__init__()
        self.linear1 = torch.nn.Linear(D_IN, H)
        self.linear2 = torch.nn.Linear(H, D_OUT)

    def forward(self, x):
        ## two_layer_forward
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred

'''

_DYNAMIC_NET = '''

class DynamicNet(torch.nn.Module):
    def __init__(self, D_IN, H, D_OUT):
        ## dynamic_init
        super(DynamicNet, self).__init__()
        self.input_linear = torch.nn.Linear(D_IN, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_OUT)

    def forward(self, x):
        ## dynamic_forward
        h_relu = self.input_linear(x).clamp(min=0)
        for _ in range(random.randint(0, 3)):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        y_pred = self.output_linear(h_relu)
        return y_pred

'''

_NN_LOOP_TAIL = '''
    ## zero_backward_step
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
'''

# The part of each stage after the imports, the classes and the seed.
BODIES = {
    "tensors": _RAW_DATA + '''
## weights
w1 = torch.randn(D_IN, H, device=device, dtype=dtype)
w2 = torch.randn(H, D_OUT, device=device, dtype=dtype)

learning_rate = {lr}
for t in range({steps}):
    ## forward
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)

    ## loss
    loss = (y_pred - y).pow(2).sum().item()
    if t % 100 == 99:
        print(t, loss)

    ## backward_by_hand
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.t().mm(grad_y_pred)
    grad_h_relu = grad_y_pred.mm(w2.t())
    grad_h = grad_h_relu.clone()
    grad_h[h < 0] = 0
    grad_w1 = x.t().mm(grad_h)

    ## update_by_hand
    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2
''',
    "autograd": _RAW_DATA + '''
## weights_grad
w1 = torch.randn(D_IN, H, device=device, dtype=dtype, requires_grad=True)
w2 = torch.randn(H, D_OUT, device=device, dtype=dtype, requires_grad=True)

learning_rate = {lr}
for t in range({steps}):
    ## forward_autograd
    y_pred = x.mm(w1).clamp(min=0).mm(w2)

    ## loss
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    ## backward
    loss.backward()

    ## update_no_grad
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad

        ## zero_grad_by_hand
        w1.grad.zero_()
        w2.grad.zero_()
''',
    "custom_function": _RAW_DATA + '''
## weights_grad
w1 = torch.randn(D_IN, H, device=device, dtype=dtype, requires_grad=True)
w2 = torch.randn(H, D_OUT, device=device, dtype=dtype, requires_grad=True)

learning_rate = {lr}
for t in range({steps}):
    ## apply
    relu = {relu_name}.apply

    ## forward_relu
    y_pred = relu(x.mm(w1)).mm(w2)

    ## loss
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    ## backward
    loss.backward()

    ## update_no_grad
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad

        ## zero_grad_by_hand
        w1.grad.zero_()
        w2.grad.zero_()
''',
    "nn_module": _NN_DATA + '''
## sequential
model = torch.nn.Sequential(
    torch.nn.Linear(D_IN, H),
    torch.nn.ReLU(),
    torch.nn.Linear(H, D_OUT),
){to_dtype}

## loss_fn
loss_fn = torch.nn.MSELoss(reduction='sum')

learning_rate = {lr}
for t in range({steps}):
    ## forward_model
    y_pred = model(x)

    ## loss
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    ## zero_grad_model
    model.zero_grad()

    ## backward_model
    loss.backward()

    ## update_params
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
''',
    "optim": _NN_DATA + '''
model = torch.nn.Sequential(
    torch.nn.Linear(D_IN, H),
    torch.nn.ReLU(),
    torch.nn.Linear(H, D_OUT),
){to_dtype}
loss_fn = torch.nn.MSELoss(reduction='sum')

## optimizer
learning_rate = {lr}
optimizer = {optimizer_call}
for t in range({steps}):
    ## forward_model
    y_pred = model(x)

    ## loss
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    ## zero_grad_optimizer
    optimizer.zero_grad()

    ## backward_model
    loss.backward()

    ## step
    optimizer.step()
''',
    "custom_module": _NN_DATA + '''
## build_model
model = TwoLayerNet(D_IN, H, D_OUT){to_dtype}

## criterion_optimizer
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = {optimizer_call}
for t in range({steps}):
    ## forward_model
    y_pred = model(x)

    ## loss
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())
''' + _NN_LOOP_TAIL,
    "dynamic_net": _NN_DATA + '''
## build_model
model = DynamicNet(D_IN, H, D_OUT){to_dtype}

## criterion_optimizer
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = {optimizer_call}
for t in range({steps}):
    ## forward_model
    y_pred = model(x)

    ## loss
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())
''' + _NN_LOOP_TAIL,
}

# the optimizer line for each choice of the sidebar, as torch.optim spells it
_OPTIMIZER_CALLS = {
    "sgd": "torch.optim.SGD(model.parameters(), lr={lr})",
    "sgd_momentum": "torch.optim.SGD(model.parameters(), lr={lr}, momentum={momentum})",
    "adam": "torch.optim.Adam(model.parameters(), lr={lr})",
    "rmsprop": "torch.optim.RMSprop(model.parameters(), lr={lr}, momentum={momentum})",
    "adagrad": "torch.optim.Adagrad(model.parameters(), lr={lr})",
}


def number(value: float) -> str:
    """A float as a person writes it in code (1e-6, 0.9, 2e-5): the shortest text that parses back to `value`."""
    texts = [repr(float(value))] + [re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).strip("+") + m.group(2),
                                           f"{value:.{digits}e}") for digits in range(17)]
    return min((text for text in texts if float(text) == value), key=lambda text: len(text) + ("e" in text))


def optimizer_call(config: TrainConfig, lr: str = "learning_rate") -> str:
    """The torch.optim line that `config` trains with (lib.tutorial.optimizers.make_optimizer builds the same)."""
    return _OPTIMIZER_CALLS[config.optimizer].format(lr=lr, momentum=number(config.momentum))


def comments(code: str, lang: str, **values) -> str:
    lines = []
    for line in code.splitlines():
        match = _COMMENT.match(line)
        if match:
            indent, key = match.groups()
            lines += [f"{indent}# {text}".rstrip() for text in t(f"code.{key}", lang, **values).splitlines()]
        else:
            lines.append(line)
    return "\n".join(lines).strip("\n") + "\n"


def tutorial_code(stage: str, config: TrainConfig, broken_relu: bool = False, lang: str = "en") -> str:
    """The stage's code as the tutorial writes it, with `config` filled in and comments in `lang`."""
    if stage not in BODIES:
        raise ValueError(f"stage={stage!r} has no tutorial code")
    float64 = config.dtype == "float64"
    classes = {"custom_function": _RELU + (_BROKEN_BACKWARD if broken_relu else _RELU_BACKWARD),
               "custom_module": _TWO_LAYER_NET, "dynamic_net": _DYNAMIC_NET}.get(stage, "")
    # stage 5 names the learning rate `learning_rate`, stages 6 and 7 write it into the optimizer's line
    lr_in_call = "learning_rate" if stage == "optim" else number(config.lr)
    values = dict(
        seed=config.seed, n=config.n, d_in=config.d_in, hidden=config.hidden, d_out=config.d_out,
        lr=number(config.lr), steps=config.steps,
        dtype="torch.float64" if float64 else "torch.float",
        device="cuda:0" if config.device == "cuda" else "cpu",
        dtype_arg=", dtype=torch.float64" if float64 else "",
        to_dtype=".to(torch.float64)" if float64 else "",
        optimizer_call=optimizer_call(config, lr_in_call),
        random_import="import random\n" if stage == "dynamic_net" else "",
        random_seed=f"\nrandom.seed({config.seed})" if stage == "dynamic_net" else "",
        relu_name="BrokenMyReLU" if broken_relu else "MyReLU")
    code = (_HEAD + classes + _SEED + BODIES[stage]).format(**values)
    return comments(code, lang, title=t(f"stage.{stage}.title", lang), stage=stage, seed=config.seed)
