"""Inside a trained MNIST model, for one digit: the MLP's first-layer weights as images and its hidden units'
answer, the CNN's filters and feature maps (any entry written out as its sum of products), the saliency of the
two most likely classes, and a fixed panel of held-out digits predicted after every epoch."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from lib.digits.mnist_data import MEAN, SIDE, STD
from lib.digits.mnist_models import MnistCNN, MnistMLP
from lib.text.messages import Message

PANEL_SIZE = 16            # held-out digits watched epoch by epoch: the first 16 of the held-out split
TOP_UNITS = 32             # hidden units shown as weight images, the strongest answers to the digit first


def normalised(digit: torch.Tensor) -> torch.Tensor:
    """A (28, 28) digit in [0, 1] as the model's input: (1, 1, 28, 28), normalised like the training digits."""
    return ((digit - MEAN) / STD).view(1, 1, SIDE, SIDE)


# ---------------------------------------------------------------- what the MLP learned
@dataclass
class MlpInside:
    weight_images: torch.Tensor        # (H, 28, 28): row j of w1 (linear1.weight) reshaped, units in w1's order
    pre_activation: torch.Tensor       # (H,) w1 x + b1 for the digit
    hidden: torch.Tensor               # (H,) relu of it: what each unit passes on
    order: list[int]                   # unit indices, strongest answer first


def mlp_inside(model: MnistMLP, x: torch.Tensor) -> MlpInside:
    """The first layer of TwoLayerNet for one input x (1, 1, 28, 28): weights as images, the units' answers."""
    w1, b1 = model.linear1.weight.detach(), model.linear1.bias.detach()   # (H, 784), (H,)
    with torch.no_grad():
        pre = x.flatten(1)[0] @ w1.t() + b1                                 # (H,)
    hidden = pre.clamp(min=0)
    # strongest first; units that stay silent (ReLU 0) follow, the least negative first
    order = sorted(range(len(pre)), key=lambda j: (-hidden[j].item(), -pre[j].item()))
    return MlpInside(w1.view(-1, SIDE, SIDE).clone(), pre, hidden, order)


# ---------------------------------------------------------------- what the CNN sees
@dataclass
class CnnInside:
    inputs: list[torch.Tensor]         # per conv layer, what it convolves: (C_in, H_in, W_in)
    strides: list[int]                 # per conv layer, how many pixels the kernel moves per output pixel
    weights: list[torch.Tensor]        # per conv layer, (C_out, C_in, 5, 5)
    biases: list[torch.Tensor]         # per conv layer, (C_out,)
    pre_activation: list[torch.Tensor]  # per conv layer, conv output before ReLU: (C_out, H_out, W_out)
    feature_maps: list[torch.Tensor]   # per conv layer, after ReLU


def cnn_inside(model: MnistCNN, x: torch.Tensor) -> CnnInside:
    """MnistCNN.forward written out layer by layer for one input x (1, 1, 28, 28), keeping every map."""
    inputs, pre, maps = [], [], []
    with torch.no_grad():
        a = x
        for conv, pooled in ((model.conv1, False), (model.conv2, True)):
            inputs.append(a[0])
            z = conv(a)                           # (1, C_out, H_out, W_out)
            pre.append(z[0])
            maps.append(F.relu(z)[0])
            a = F.max_pool2d(F.relu(z), 2) if pooled else F.relu(z)
        logits = model.fc2(F.relu(model.fc1(a.flatten(1))))
        if not torch.allclose(logits, model(x), atol=1e-5):   # the layers above must be the model's forward
            raise RuntimeError("MnistCNN.forward no longer matches the layers written out here")
    return CnnInside(inputs, [c.stride[0] for c in (model.conv1, model.conv2)],
                     [c.weight.detach().clone() for c in (model.conv1, model.conv2)],
                     [c.bias.detach().clone() for c in (model.conv1, model.conv2)], pre, maps)


@dataclass
class ConvEntry:
    """One output pixel of a feature map as the convolution computes it."""
    layer: int                         # 0 = conv1, 1 = conv2
    channel: int
    row: int
    col: int
    kernel: torch.Tensor               # (C_in, 5, 5)
    patch: torch.Tensor                # (C_in, 5, 5) the input under the kernel
    top: int                           # the patch's first row and column in the layer's input: stride × (row, col)
    left: int
    per_channel: list[float]           # sum of kernel * patch over each input channel
    bias: float
    pre_activation: float              # sum of every product, plus the bias
    value: float                       # ReLU of it: the feature map's entry


def conv_entry(inside: CnnInside, layer: int, channel: int, row: int, col: int) -> ConvEntry:
    kernel = inside.weights[layer][channel]                          # (C_in, k, k)
    k = kernel.shape[-1]
    top, left = row * inside.strides[layer], col * inside.strides[layer]
    patch = inside.inputs[layer][:, top:top + k, left:left + k]      # (C_in, k, k)
    products = (kernel.double() * patch.double())                    # float64: the sum as written, rounded once
    bias = inside.biases[layer][channel].item()
    pre = products.sum().item() + bias
    return ConvEntry(layer, channel, row, col, kernel, patch, top, left, products.sum((1, 2)).tolist(), bias, pre,
                     max(pre, 0.0))


def written_out(entry: ConvEntry) -> list[list[str | Message]]:
    """The convolution for one output pixel with its real numbers, line by line; a line is its parts, numbers and
    symbols as text, the words as messages the page renders in its reader's language."""
    lines = []
    if entry.kernel.shape[0] == 1:   # conv1: every product, one kernel row per line
        for r in range(entry.kernel.shape[1]):
            terms = [f"({w:+.3f})·({x:+.3f})" for w, x in zip(entry.kernel[0, r].tolist(), entry.patch[0, r].tolist())]
            lines.append([("  " if r == 0 else "+ ") + " + ".join(terms)])
    else:                            # conv2: one sum of 25 products per input channel
        for c, partial in enumerate(entry.per_channel):
            lines.append(["  " if c == 0 else "+ ",
                          Message("inside.channel_sum", channel=c, n=entry.kernel[c].numel(), value=partial)])
    lines.append([f"= {sum(entry.per_channel):+.4f}   (", Message("inside.sum_products", n=entry.kernel.numel()), ")"])
    lines.append([f"+ {entry.bias:+.4f}   (", Message("inside.bias"), ")"])
    lines.append([f"= {entry.pre_activation:+.4f}"])
    lines.append([f"ReLU → {entry.value:.4f}"])
    return lines


# ---------------------------------------------------------------- why it answers
@dataclass
class Saliency:
    classes: list[int]                 # the most likely class, then the second
    probabilities: list[float]         # their softmax probabilities
    gradients: torch.Tensor            # (2, 28, 28) d score_c / d input pixel (normalised input)


def saliency(model: torch.nn.Module, x: torch.Tensor) -> Saliency:
    """The gradient of each of the two top classes' scores (logits) with respect to the input pixels."""
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)[0]                                             # (10,)
    top = logits.detach().topk(2).indices.tolist()
    grads = []
    for c in top:
        model.zero_grad(set_to_none=True)
        (grad,) = torch.autograd.grad(logits[c], x, retain_graph=True)   # one backward per class
        grads.append(grad[0, 0])
    probabilities = F.softmax(logits.detach(), 0)
    return Saliency(top, [probabilities[c].item() for c in top], torch.stack(grads))


# ---------------------------------------------------------------- one digit, all of it
@dataclass
class DigitInside:
    digit: torch.Tensor                # (28, 28) in [0, 1]
    probabilities: torch.Tensor        # (10,)
    mlp: MlpInside | None
    cnn: CnnInside | None
    saliency: Saliency


def inside_digit(model: torch.nn.Module, digit: torch.Tensor) -> DigitInside:
    model.eval()
    x = normalised(digit)
    with torch.no_grad():
        probabilities = F.softmax(model(x)[0], 0)
    return DigitInside(digit.clone(), probabilities,
                       mlp_inside(model, x) if isinstance(model, MnistMLP) else None,
                       cnn_inside(model, x) if isinstance(model, MnistCNN) else None,
                       saliency(model, x))


# ---------------------------------------------------------------- learning, epoch by epoch
@dataclass
class EpochPanel:
    indices: list[int]                 # into the held-out digits
    labels: list[int]
    epochs: list[float] = field(default_factory=list)   # 0 = before training, then as the history counts them
    predicted: list[list[int]] = field(default_factory=list)      # per recorded epoch, per digit
    confidence: list[list[float]] = field(default_factory=list)   # the probability of that answer

    def record(self, epoch: float, model: torch.nn.Module, images: torch.Tensor) -> None:
        """The model's answer for the panel's digits (images: the held-out (N, 1, 28, 28))."""
        model.eval()
        with torch.no_grad():
            probabilities = F.softmax(model(images[self.indices]), 1)
        confidence, predicted = probabilities.max(1)
        self.epochs.append(epoch)
        self.predicted.append(predicted.tolist())
        self.confidence.append(confidence.tolist())


def epoch_panel(labels: torch.Tensor, size: int = PANEL_SIZE) -> EpochPanel:
    indices = list(range(min(size, len(labels))))
    return EpochPanel(indices, labels[indices].tolist())

