#!/usr/bin/python3
"""PyTorch peer for bench/train_throughput.c: trains the same sequential model, on the same
images (a raw uint8 dump the bench writes), with the same batch, optimizer and threads, for one
epoch, then runs inference over the test split. Prints `key value` lines the bench parses.

Exit status 3 (with a one-line reason) when torch cannot be imported."""
import argparse
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the bench reports the peer as unavailable
    print(f"unavailable {e}")
    sys.exit(3)


def build(spec, in_c):
    """spec: comma-separated layers as the bench emits them from the harness model."""
    layers, c, flat = [], in_c, None
    for tok in spec.split(","):
        f = tok.split(":")
        kind, a = f[0], [float(v) for v in f[1:]]
        if kind == "conv":
            out, k, s, p, b = (int(v) for v in a)
            layers.append(nn.Conv2d(c, out, k, stride=s, padding=p, bias=bool(b)))
            c = out
        elif kind == "linear":
            inp, out, b = (int(v) for v in a)
            layers.append(nn.Linear(inp, out, bias=bool(b)))
            flat = out
        elif kind == "maxpool":
            layers.append(nn.MaxPool2d(int(a[0]), stride=int(a[1])))
        elif kind == "avgpool":
            layers.append(nn.AvgPool2d(int(a[0]), stride=int(a[1])))
        elif kind == "gap":
            layers.append(nn.AdaptiveAvgPool2d(1))
        elif kind == "bn":
            layers.append(nn.BatchNorm1d(flat) if flat else nn.BatchNorm2d(c))
        elif kind == "relu":
            layers.append(nn.ReLU(inplace=True))
        elif kind == "hardtanh":
            layers.append(nn.Hardtanh(-a[0], a[0]))
        elif kind == "flatten":
            layers.append(nn.Flatten())
        else:
            raise SystemExit(f"peer_torch: unknown layer '{tok}' in --spec")
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="raw dump: train images, labels, test images, labels")
    ap.add_argument("--shape", required=True, help="n_train,n_test,c,h,w")
    ap.add_argument("--mean", type=float, required=True)
    ap.add_argument("--std", type=float, required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--eval-batch", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    n_train, n_test, c, h, w = (int(v) for v in args.shape.split(","))
    px = c * h * w
    raw = np.fromfile(args.data, dtype=np.uint8)
    want = n_train * (px + 1) + n_test * (px + 1)
    if raw.size != want:
        raise SystemExit(f"peer_torch: {args.data} has {raw.size} bytes, expected {want}")
    o = 0
    def take(n):
        nonlocal o
        o += n
        return raw[o - n:o]
    def images(n):
        x = torch.from_numpy(take(n * px).astype(np.float32)).view(n, c, h, w)
        return (x / 255.0 - args.mean) / args.std
    xtr = images(n_train)
    ytr = torch.from_numpy(take(n_train).astype(np.int64))
    xte = images(n_test)
    yte = torch.from_numpy(take(n_test).astype(np.int64))

    model = build(args.spec, c)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)

    def train_step(idx):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()

    model.train()
    g = torch.Generator().manual_seed(args.seed)
    for i in range(args.warmup):
        train_step(torch.arange(i * args.batch, (i + 1) * args.batch) % n_train)
    t0 = time.perf_counter()
    perm = torch.randperm(n_train, generator=g)
    for i in range(0, n_train, args.batch):
        train_step(perm[i:i + args.batch])
    t_train = time.perf_counter() - t0

    model.eval()
    correct = 0
    with torch.no_grad():
        model(xte[:args.eval_batch])               # warm-up
        t0 = time.perf_counter()
        for i in range(0, n_test, args.eval_batch):
            correct += (model(xte[i:i + args.eval_batch]).argmax(1) == yte[i:i + args.eval_batch]).sum().item()
        t_infer = time.perf_counter() - t0

    print(f"train_ips {n_train / t_train:.1f}")
    print(f"infer_ips {n_test / t_infer:.1f}")
    print(f"test_acc {100.0 * correct / n_test:.2f}")
    print(f"version {torch.__version__}")


if __name__ == "__main__":
    main()
