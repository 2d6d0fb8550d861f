"""pytorch_fashion.py - PyTorch's own run of the seed CNN on Fashion-MNIST with PyTorch's
recipe (SGD lr 0.01, momentum 0.9, batch 64, PyTorch's default initialisation), for the
accuracy comparison in scripts/compare-fashion.sh. Inputs are normalised per channel with
the training set's mean and std, as `convkit train` does. Prints one line per epoch:
`seed S epoch E test_accuracy A`. Reads the IDX .gz files with numpy; needs python3-torch.

usage: pytorch_fashion.py DATA_DIR EPOCHS SEED THREADS
"""
import gzip
import sys

import numpy as np
import torch
from torch import nn


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    data_dir, epochs, seed, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    xtr = idx(f"{data_dir}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    ytr = idx(f"{data_dir}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = idx(f"{data_dir}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    yte = idx(f"{data_dir}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mean, std = xtr.mean(), xtr.std()
    xtr = torch.from_numpy((xtr - mean) / std).unsqueeze(1)
    xte = torch.from_numpy((xte - mean) / std).unsqueeze(1)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    # seed-cnn with a 28x28x1 input, as `convkit summary --model seed-cnn --input 28x28x1`
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            loss_fn(net(xtr[b]), ytr[b]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            right = sum(int((net(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                        for i in range(0, len(xte), 1000))
        print(f"seed {seed} epoch {epoch} test_accuracy {right / len(xte):.4f}", flush=True)


if __name__ == "__main__":
    main()
