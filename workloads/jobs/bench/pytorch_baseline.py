#!/usr/bin/env python3
"""PyTorch baseline for `probity bench workloads --backend cuda`.

Trains the reference MLP or CNN of probity (workloads/jobs/include/probity/workloads/job_spec.h:
same layers, initialisation family, input standardisation, Adam with the same hyperparameters
and per-epoch decay, batch size, mirror augmentation for the CNN) with PyTorch on the same GPU
and prints one JSON line with its training steps per second:

    python3 workloads/jobs/bench/pytorch_baseline.py --model mlp
    {"model": "mlp", "steps_per_second": ..., "device": "NVIDIA H100 ...", ...}

then give the number to the benchmark:

    probity bench workloads --backend cuda --pytorch-mlp-steps-per-second <value> \\
                            --pytorch-cnn-steps-per-second <value>

--epochs N trains N full epochs instead and also reports test accuracy (a sanity check that
the baseline trains the same model to a similar quality). TF32 is off: like probity, PyTorch
computes in full fp32 (cuBLAS/cuDNN choose their own, non-deterministic, orders).
Needs only PyTorch and Debian's dataset-fashion-mnist; no torchvision, no numpy.
"""
import argparse
import gzip
import json
import struct
import time

import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"
SCALE = float.fromhex("0x1.6c073ap-7")   # 1 / (255 * 0.3530), as probity's f32 constant
OFFSET = float.fromhex("-0x1.9ed25p-1")  # -0.2860 / 0.3530


def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndims = raw[3]
    dims = struct.unpack(">" + "I" * ndims, raw[4:4 + 4 * ndims])
    body = bytearray(raw[4 + 4 * ndims:])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)


def load(split, device):
    prefix = "train" if split == "train" else "t10k"
    images = load_idx(f"{DATA}/{prefix}-images-idx3-ubyte.gz").to(device)
    labels = load_idx(f"{DATA}/{prefix}-labels-idx1-ubyte.gz").long().to(device)
    return images, labels


def model_for(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 100), nn.ReLU(), nn.Linear(100, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["mlp", "cnn"], required=True)
    p.add_argument("--steps", type=int, default=3000, help="timed training steps")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--epochs", type=int, default=0, help="train full epochs instead")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(args.seed)
    device = torch.device("cuda")
    images, labels = load("train", device)
    x_all = images.float().unsqueeze(1) * SCALE + OFFSET  # [60000, 1, 28, 28]
    batch = 64 if args.model == "mlp" else 32
    mirror = args.model == "cnn"
    model = model_for(args.model).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)
    loss_fn = nn.CrossEntropyLoss()
    steps_per_epoch = x_all.shape[0] // batch

    def epoch_batches():
        perm = torch.randperm(x_all.shape[0], device=device)
        flip = torch.rand(x_all.shape[0], device=device) < 0.5 if mirror else None
        for b in range(steps_per_epoch):
            idx = perm[b * batch:(b + 1) * batch]
            x = x_all[idx]
            if mirror:
                x = torch.where(flip[idx].view(-1, 1, 1, 1), x.flip(-1), x)
            yield x, labels[idx]

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    result = {"model": args.model, "device": torch.cuda.get_device_name(0),
              "torch": torch.__version__, "batch_size": batch}
    if args.epochs > 0:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.epochs):
            for x, y in epoch_batches():
                step(x, y)
            sched.step()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        result["steps_per_second"] = args.epochs * steps_per_epoch / seconds
        test_images, test_labels = load("test", device)
        with torch.no_grad():
            logits = model(test_images.float().unsqueeze(1) * SCALE + OFFSET)
            result["test_accuracy"] = (logits.argmax(1) == test_labels).float().mean().item()
        result["epochs"] = args.epochs
    else:
        done = 0
        t0 = None
        while done < args.warmup + args.steps:
            for x, y in epoch_batches():
                if done == args.warmup:
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                step(x, y)
                done += 1
                if done == args.warmup + args.steps:
                    break
        torch.cuda.synchronize()
        result["steps_per_second"] = args.steps / (time.perf_counter() - t0)
        result["steps"] = args.steps
    print(json.dumps(result))


if __name__ == "__main__":
    main()
