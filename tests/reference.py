"""The tutorial's code for every stage, copied as it is written, as oracles for lib.tutorial.stages and bench/stages.py.

Each function seeds torch and `random`, draws x and y and then the weights in the tutorial's order, and returns
the loss of every step (`loss.item()` each step instead of printing every 100th). The only changes to the
write-up: sizes, lr, steps and dtype are arguments, and the autograd stage updates with `w1.grad` (the write-up's
`grad_w1` does not exist there).
"""
import random

import torch

device = torch.device('cpu')


# ---------------------------------------------------------------- 1. tensors
def tensors(seed, N, D_IN, H, D_OUT, lr, steps, dtype=torch.float):
    torch.manual_seed(seed)
    random.seed(seed)

    x = torch.randn(N, D_IN, device=device, dtype=dtype)
    y = torch.randn(N, D_OUT, device=device, dtype=dtype)

    w1 = torch.randn(D_IN, H, device=device, dtype=dtype)
    w2 = torch.randn(H, D_OUT, device=device, dtype=dtype)

    losses = []
    for t in range(steps):
        # Forward pass
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)

        loss = (y_pred - y).pow(2).sum().item()
        losses.append(loss)

        # Backpropagation to compute gradients
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h<0] = 0
        grad_w1 = x.t().mm(grad_h)

        # Update wegiths
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
    return losses


# ---------------------------------------------------------------- 2. autograd
def autograd(seed, N, D_IN, H, D_OUT, lr, steps, dtype=torch.float):
    torch.manual_seed(seed)
    random.seed(seed)

    x = torch.randn(N, D_IN, device=device, dtype=dtype)
    y = torch.randn(N, D_OUT, device=device, dtype=dtype)

    w1 = torch.randn(D_IN, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_OUT, device=device, dtype=dtype, requires_grad=True)

    losses = []
    for t in range(steps):
        # Forward pass
        y_pred = x.mm(w1).clamp(min=0).mm(w2)

        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())

        # Backpropagation to compute gradients
        loss.backward()

        # Update wegiths (the write-up has `grad_w1`, a NameError here)
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


# ---------------------------------------------------------------- 3. custom autograd Function
class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input<0] = 0
        return grad_input


def custom_function(seed, N, D_IN, H, D_OUT, lr, steps, dtype=torch.float):
    torch.manual_seed(seed)
    random.seed(seed)

    x = torch.randn(N, D_IN, device=device, dtype=dtype)
    y = torch.randn(N, D_OUT, device=device, dtype=dtype)

    w1 = torch.randn(D_IN, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_OUT, device=device, dtype=dtype, requires_grad=True)

    losses = []
    for t in range(steps):
        relu = MyReLU.apply

        y_pred = relu(x.mm(w1)).mm(w2)

        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())

        loss.backward()

        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


# ---------------------------------------------------------------- 4. nn.Sequential
def nn_module(seed, N, D_IN, H, D_OUT, lr, steps, dtype=torch.float):
    torch.manual_seed(seed)
    random.seed(seed)
    loss_fn = torch.nn.MSELoss(reduction='sum')

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = torch.nn.Sequential(
        torch.nn.Linear(D_IN, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_OUT),
    ).to(dtype)

    losses = []
    for t in range(steps):
        # Forward pass
        y_pred = model(x)

        loss = loss_fn(y_pred, y)
        losses.append(loss.item())

        # Backward pass
        model.zero_grad()
        loss.backward()

        # Update weights
        with torch.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
    return losses


# ---------------------------------------------------------------- 5. torch.optim (the ". . ." is stage 4's setup)
def optim(seed, N, D_IN, H, D_OUT, lr, steps, dtype=torch.float):
    torch.manual_seed(seed)
    random.seed(seed)
    loss_fn = torch.nn.MSELoss(reduction='sum')

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = torch.nn.Sequential(
        torch.nn.Linear(D_IN, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_OUT),
    ).to(dtype)

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    losses = []
    for t in range(steps):
        # Forward pass
        y_pred = model(x)

        loss = loss_fn(y_pred, y)
        losses.append(loss.item())

        optimizer.zero_grad()
        # Backward pass
        loss.backward()

        # Update wegiths
        optimizer.step()
    return losses


# ---------------------------------------------------------------- 6. custom nn.Module
class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_IN, H, D_OUT):
        super(TwoLayerNet, self).__init__()
        self.linear1 = torch.nn.Linear(D_IN, H)
        self.linear2 = torch.nn.Linear(H, D_OUT)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


def custom_module(seed, N, D_IN, H, D_OUT, lr, steps, dtype=torch.float):
    torch.manual_seed(seed)
    random.seed(seed)

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = TwoLayerNet(D_IN, H, D_OUT).to(dtype)

    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    losses = []
    for t in range(steps):
        y_pred = model(x)

        loss = criterion(y_pred, y)
        losses.append(loss.item())

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


# ---------------------------------------------------------------- 7. control flow + weight sharing
class DynamicNet(torch.nn.Module):
    def __init__(self, D_IN, H, D_OUT):
        super(DynamicNet, self).__init__()
        self.input_linear = torch.nn.Linear(D_IN, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_OUT)

    def forward(self, x):
        h_relu = self.input_linear(x).clamp(min=0)
        for _ in range(random.randint(0, 3)):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        y_pred = self.output_linear(h_relu)
        return y_pred


def dynamic_net(seed, N, D_IN, H, D_OUT, lr, steps, dtype=torch.float):
    torch.manual_seed(seed)
    random.seed(seed)

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = DynamicNet(D_IN, H, D_OUT).to(dtype)

    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    losses = []
    for t in range(steps):
        y_pred = model(x)

        loss = criterion(y_pred, y)
        losses.append(loss.item())

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


TUTORIAL = {
    "tensors": tensors,
    "autograd": autograd,
    "custom_function": custom_function,
    "nn_module": nn_module,
    "optim": optim,
    "custom_module": custom_module,
    "dynamic_net": dynamic_net,
}


def run_reference(stage, config):
    """The tutorial's loop for `stage` with a lib.tutorial.config.TrainConfig's sizes, lr, steps, seed and dtype."""
    return TUTORIAL[stage](config.seed, config.n, config.d_in, config.hidden, config.d_out, config.lr,
                           config.steps, config.torch_dtype)
