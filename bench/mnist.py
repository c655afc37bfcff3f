"""MNIST targets on this machine, printed as a markdown table: accuracy and time of the MLP and the CNN, and one
epoch of our in-memory loop against the usual pytorch/examples loop (PIL images, transforms, DataLoader).

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

from lib import mnist  # noqa: E402
from lib.mnist import MnistConfig  # noqa: E402
from lib.optimizers import make_optimizer  # noqa: E402


class ExamplesStyleMNIST(Dataset):
    """What torchvision.datasets.MNIST does per item: a uint8 tensor -> PIL image -> transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        self.data, self.targets, self.transform = images, labels, transform   # (N, 28, 28) uint8, (N,)

    def __getitem__(self, index):
        img = Image.fromarray(self.data[index].numpy(), mode="L")
        return self.transform(img), int(self.targets[index])

    def __len__(self):
        return len(self.data)


def examples_epoch(data: mnist.MnistData, config: MnistConfig) -> tuple[float, float]:
    """pytorch/examples mnist/main.py's train() + test() for one epoch; returns (seconds, held-out accuracy)."""
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mnist.MEAN,), (mnist.STD,))])
    as_uint8 = lambda x: (mnist.denormalise(x[:, 0]) * 255).round().to(torch.uint8)  # noqa: E731
    train_loader = DataLoader(ExamplesStyleMNIST(as_uint8(data.train_images), data.train_labels, transform),
                              batch_size=config.batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(config.seed))
    test_loader = DataLoader(ExamplesStyleMNIST(as_uint8(data.test_images), data.test_labels, transform),
                             batch_size=1000)
    model = mnist.build_model(config)
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
    root = args.root or (None if os.environ.get(mnist.ROOT_ENV) else Path(__file__).parents[2] / "shared" / "data")

    start = time.perf_counter()
    data = mnist.load_mnist(root)
    load_s = time.perf_counter() - start

    mlp = mnist.train_mnist(data, MnistConfig(model="mlp", hidden=100, optimizer="adam", lr=1e-3, epochs=3))
    cnn = mnist.train_mnist(data, MnistConfig(model="cnn", hidden=100, optimizer="adam", lr=1e-3, epochs=3))

    one_epoch = MnistConfig(epochs=1)
    ours = min(mnist.train_mnist(data, one_epoch).elapsed_s for _ in range(args.repeats))
    usual = [examples_epoch(data, one_epoch) for _ in range(args.repeats)]
    usual_s, usual_accuracy = min(t for t, _ in usual), usual[0][1]
    ratio = usual_s / ours

    ok = lambda passed: "yes" if passed else "**no**"  # noqa: E731
    print(f"MNIST bench: {data.description}; torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"data loaded in {load_s:.2f} s\n")
    print("| check | target | measured | met |")
    print("| --- | --- | --- | --- |")
    print(f"| MLP (H=100, Adam 1e-3, batch 64), 3 epochs: held-out accuracy | ≥ 92% | {mlp.final_accuracy:.2%} "
          f"| {ok(mlp.final_accuracy >= 0.92)} |")
    print(f"| MLP, 3 epochs: training time | ≤ 15 s | {mlp.elapsed_s:.2f} s | {ok(mlp.elapsed_s <= 15)} |")
    print(f"| CNN (2 conv, H=100, Adam 1e-3, batch 64), 3 epochs: held-out accuracy | ≥ 95% "
          f"| {cnn.final_accuracy:.2%} | {ok(cnn.final_accuracy >= 0.95)} |")
    print(f"| CNN, 3 epochs: training time | (reported) | {cnn.elapsed_s:.2f} s | – |")
    print(f"| MLP epoch, pytorch/examples loop (PIL + ToTensor/Normalize + DataLoader), best of {args.repeats} "
          f"| – | {usual_s:.2f} s (accuracy {usual_accuracy:.2%}) | – |")
    print(f"| MLP epoch, in-memory tensors + randperm slices, best of {args.repeats} | – | {ours:.2f} s | – |")
    print(f"| speed-up of our epoch | ≥ 3× | {ratio:.1f}× | {ok(ratio >= 3)} |")


if __name__ == "__main__":
    main()
