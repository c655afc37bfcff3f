"""MNIST targets on this machine, printed as a markdown table: accuracy and time of the MLP and the CNN (on the
full 60,000-digit training set when its files are there, else on the offline subset), the CNN channels-last
against the default layout, one epoch of our in-memory loop against the usual pytorch/examples loop (PIL images,
transforms, DataLoader), and the server time of each "inside the model" view after training.

    python bench/mnist.py [--root PATH] [--threads N (default 1)] [--repeats K]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.figures import mnist_inside_plots  # noqa: E402

from lib.digits import mnist_data, mnist_models, mnist_training, mnist_inside
from lib.digits.mnist_models import MnistConfig  # noqa: E402
from lib.serve import workers  # noqa: E402
from lib.tutorial.optimizers import make_optimizer  # noqa: E402


class ExamplesStyleMNIST(Dataset):
    """What torchvision.datasets.MNIST does per item: a uint8 tensor -> PIL image -> transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        self.data, self.targets, self.transform = images, labels, transform   # (N, 28, 28) uint8, (N,)

    def __getitem__(self, index):
        img = Image.fromarray(self.data[index].numpy(), mode="L")
        return self.transform(img), int(self.targets[index])

    def __len__(self):
        return len(self.data)


def examples_epoch(data: mnist_data.MnistData, config: MnistConfig) -> tuple[float, float]:
    """pytorch/examples mnist/main.py's train() + test() for one epoch; returns (seconds, held-out accuracy)."""
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mnist_data.MEAN,), (mnist_data.STD,))])
    as_uint8 = lambda x: (mnist_data.denormalise(x[:, 0]) * 255).round().to(torch.uint8)  # noqa: E731
    train_loader = DataLoader(ExamplesStyleMNIST(as_uint8(data.train_images), data.train_labels, transform),
                              batch_size=config.batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(config.seed))
    test_loader = DataLoader(ExamplesStyleMNIST(as_uint8(data.test_images), data.test_labels, transform),
                             batch_size=1000)
    model = mnist_models.build_model(config)
    optimizer = make_optimizer(model.parameters(), config)
    start = time.perf_counter()
    model.train()
    for x, target in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, target in test_loader:
            correct += (model(x).argmax(1) == target).sum().item()
    return time.perf_counter() - start, correct / len(test_loader.dataset)


def timed_run(data: mnist_data.MnistData, config: MnistConfig,
              channels_last: bool = True) -> tuple[mnist_training.MnistResult, float]:
    """train_mnist and the CPU seconds this process spent in it (the wall clock counts other users of the machine)."""
    build = mnist_training.build_model
    if not channels_last:   # the CNN as it was before: weights in the default (NCHW) layout
        mnist_training.build_model = lambda cfg: build(cfg).to(memory_format=torch.contiguous_format)
    try:
        cpu = time.process_time()
        result = mnist_training.train_mnist(data, config)
        return result, time.process_time() - cpu
    finally:
        mnist_training.build_model = build


def view_times(data: mnist_data.MnistData, mlp: torch.nn.Module, cnn: torch.nn.Module, repeats: int) -> list[tuple]:
    """Each "inside the model" view as the server draws it after training: its figure built and turned into the
    JSON Streamlit sends (best of `repeats`); and the worker's computation for one digit."""
    digit = mnist_data.denormalise(data.test_images[0, 0])
    panel = mnist_inside.epoch_panel(data.test_labels)
    for epoch in range(4):
        panel.record(epoch, cnn, data.test_images)
    inside = {"mlp": mnist_inside.inside_digit(mlp, digit), "cnn": mnist_inside.inside_digit(cnn, digit)}
    panel_images = mnist_data.denormalise(data.test_images[panel.indices, 0])
    plots = mnist_inside_plots
    views = {
        "worker: MLP inside one digit (w1, hidden units, saliency)": lambda: mnist_inside.inside_digit(mlp, digit),
        "worker: CNN inside one digit (maps, saliency)": lambda: mnist_inside.inside_digit(cnn, digit),
        "MLP: w1 images (32 units) + hidden units": lambda: [plots.weight_images(inside["mlp"], 32).to_json(),
                                                           plots.hidden_bar(inside["mlp"]).to_json()],
        "CNN conv1: filters + feature maps + one pixel written out": lambda: cnn_view(inside["cnn"], 0),
        "CNN conv2: filters + feature maps + one pixel written out": lambda: cnn_view(inside["cnn"], 1),
        "saliency, two classes": lambda: plots.saliency_maps(inside["cnn"]).to_json(),
        "panel, 16 digits x 4 epochs, and the digits": lambda: [
            plots.panel_matrix(panel).to_json(), plots.panel_digits(panel_images, panel.labels).to_json()],
    }
    rows = []
    for name, view in views.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            view()
            times.append(time.perf_counter() - start)
        rows.append((name, min(times)))
    return rows


def cnn_view(inside: mnist_inside.DigitInside, layer: int) -> None:
    plots = mnist_inside_plots
    plots.conv_filters(inside.cnn.weights[layer], layer).to_json()
    plots.feature_maps(inside.cnn.feature_maps[layer], layer).to_json()
    mnist_inside.written_out(mnist_inside.conv_entry(inside.cnn, layer, 0, 3, 3))


def recipe(config: MnistConfig) -> str:
    """A model's recipe for the table, e.g. "H=100, Adam 1e-2 one cycle, batch 128"."""
    schedule = "" if config.schedule == "constant" else " one cycle"
    layers = "" if config.model == "mlp" else "2 conv, "
    return f"{layers}H={config.hidden}, {config.optimizer.capitalize()} {config.lr:.0e}{schedule}, " \
           f"batch {config.batch_size}".replace("e-0", "e-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="MNIST root (default: MNIST_ROOT, else ../shared/data)")
    # One thread, as a dashboard session should run: Streamlit serves every session as a thread of one process,
    # and on 2 shared cores torch's intra-op threads spin against each other (the MLP ran ~50x slower that way).
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads; 0 keeps torch's default")
    parser.add_argument("--repeats", type=int, default=3, help="best of K for the epoch timings")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    workers.tune_allocator()   # a worker's malloc settings: the MNIST page trains in one (lib.serve.workers)
    root = args.root or (None if os.environ.get(mnist_data.ROOT_ENV) else Path(__file__).parents[2] / "shared" / "data")

    start = time.perf_counter()
    data = mnist_data.load_mnist(root)
    load_s = time.perf_counter() - start

    # each model as the MNIST page trains it when chosen: its own defaults (lib.digits.mnist_models.MODEL_DEFAULTS)
    mlp_config, cnn_config = mnist_models.default_config("mlp"), mnist_models.default_config("cnn")
    assert mlp_config.epochs == cnn_config.epochs == 3, "the targets below are for 3 epochs"
    mlp, mlp_cpu = timed_run(data, mlp_config)
    cnn, cnn_cpu = timed_run(data, cnn_config)
    nchw, nchw_cpu = timed_run(data, cnn_config, channels_last=False)

    one_epoch = MnistConfig(epochs=1)
    ours = min(mnist_training.train_mnist(data, one_epoch).elapsed_s for _ in range(args.repeats))
    usual = [examples_epoch(data, one_epoch) for _ in range(args.repeats)]
    usual_s, usual_accuracy = min(t for t, _ in usual), usual[0][1]
    ratio = usual_s / ours

    views = view_times(data, mlp.model, cnn.model, args.repeats)

    ok = lambda passed: "yes" if passed else "**no**"  # noqa: E731
    full = data.source == "full"
    digits = f"{len(data.train_labels):,} training digits" + (" (the full set)" if full else "")
    print(f"MNIST bench: {data.description}; torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"data loaded in {load_s:.2f} s\n")
    print("| check | target | measured | met |")
    print("| --- | --- | --- | --- |")
    tested = "test" if full else "held-out"
    print(f"| MLP ({recipe(mlp_config)}), 3 epochs on {digits}: {tested} accuracy | ≥ 92% "
          f"| {mlp.final_accuracy:.2%} | {ok(mlp.final_accuracy >= 0.92)} |")
    print(f"| MLP, 3 epochs: training time (CPU time) | ≤ 15 s | {mlp.elapsed_s:.2f} s ({mlp_cpu:.2f} s) "
          f"| {ok(mlp.elapsed_s <= 15)} |")
    print(f"| CNN ({recipe(cnn_config)}), 3 epochs on {digits}: {tested} accuracy | ≥ 97% "
          f"| {cnn.final_accuracy:.2%} | {ok(cnn.final_accuracy >= 0.97)} |")
    cnn_target = "(reported)" if full else "≤ 3 s"
    cnn_met = "–" if full else ok(cnn.elapsed_s <= 3)
    print(f"| CNN, 3 epochs, channels-last: training time (CPU time) | {cnn_target} | {cnn.elapsed_s:.2f} s "
          f"({cnn_cpu:.2f} s) | {cnn_met} |")
    print(f"| CNN, 3 epochs, default layout (NCHW): training time (CPU time), accuracy | – | {nchw.elapsed_s:.2f} s "
          f"({nchw_cpu:.2f} s), {nchw.final_accuracy:.2%} | – |")
    print(f"| MLP epoch, pytorch/examples loop (PIL + ToTensor/Normalize + DataLoader), best of {args.repeats} "
          f"| – | {usual_s:.2f} s (accuracy {usual_accuracy:.2%}) | – |")
    print(f"| MLP epoch, in-memory tensors + randperm slices, best of {args.repeats} | – | {ours:.2f} s | – |")
    print(f"| speed-up of our epoch | ≥ 3× | {ratio:.1f}× | {ok(ratio >= 3)} |")
    for name, seconds in views:
        print(f"| inside the model, {name}: server time, best of {args.repeats} | ≤ 0.5 s | {seconds:.3f} s "
              f"| {ok(seconds <= 0.5)} |")


if __name__ == "__main__":
    main()
