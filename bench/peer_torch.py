#!/usr/bin/python3
"""PyTorch peer for bench/train_throughput.c: builds the same network as the harness model (a
layer graph the bench emits with --spec), and times it on the same images (a raw uint8 dump the
bench writes) with the same batch, optimizer, augmentation, repetitions and threads. Prints
`key value` lines the bench parses (img/s of every rep, peak resident memory, parameter count).

Exit status 3 (with a one-line reason) when torch cannot be imported."""
import argparse
import resource
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

PAD = 4  # augmentation: zero padding before the random crop, as the harness loader


class Add(nn.Module):
    def forward(self, a, b):
        return a + b


class Graph(nn.Module):
    """Layers in topological order, each with its producers (-1 = the model input). An output is
    dropped after its last consumer ran, as a hand-written forward would."""

    def __init__(self, layers, inputs):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.inputs = inputs
        last = {}
        for k, ins in enumerate(inputs):
            for i in ins:
                last[i] = k
        self.free_after = [[i for i in ins if i >= 0 and last[i] == k] for k, ins in enumerate(inputs)]

    def forward(self, x):
        outs = {}
        for k, (layer, ins) in enumerate(zip(self.layers, self.inputs)):
            y = layer(*[x if i < 0 else outs[i] for i in ins])
            for i in self.free_after[k]:
                del outs[i]
            outs[k] = y
        return outs[len(self.layers) - 1]


def parse_spec(spec):
    """[(kind, args, inputs)]: `kind:a:b...` with `@i` or `@i+j` inputs, else the token before."""
    nodes = []
    for k, tok in enumerate(spec.split(",")):
        body, _, ins = tok.partition("@")
        f = body.split(":")
        inputs = [int(v) for v in ins.split("+")] if ins else [k - 1]
        nodes.append((f[0], [float(v) for v in f[1:]], inputs))
    return nodes


def build(spec, in_c):
    """The model, and its parameters that get weight decay (conv and linear weights, as the
    harness's optimizer)."""
    layers, inputs, decay = [], [], []
    chans, flat = {-1: in_c}, {-1: False}  # per node: channels, and whether it is N x features
    for k, (kind, a, ins) in enumerate(parse_spec(spec)):
        c, fl = chans[ins[0]], flat[ins[0]]
        if kind == "conv":
            out, ks, s, p, b = (int(v) for v in a)
            layer = nn.Conv2d(c, out, ks, stride=s, padding=p, bias=bool(b))
            decay.append(layer.weight)
            c, fl = out, False
        elif kind == "linear":
            inp, out, b = (int(v) for v in a)
            lin = nn.Linear(inp, out, bias=bool(b))
            decay.append(lin.weight)
            layer = lin if fl else nn.Sequential(nn.Flatten(), lin)
            c, fl = out, True
        elif kind == "maxpool":
            layer = nn.MaxPool2d(int(a[0]), stride=int(a[1]))
        elif kind == "avgpool":
            layer = nn.AvgPool2d(int(a[0]), stride=int(a[1]))
        elif kind == "gap":
            layer = nn.AdaptiveAvgPool2d(1)
        elif kind == "bn":
            c = int(a[0])
            layer = nn.BatchNorm1d(c) if fl else nn.BatchNorm2d(c)
        elif kind == "relu":
            layer = None  # in place when its input has no other consumer, below
        elif kind == "hardtanh":
            layer = nn.Hardtanh(-a[0], a[0])
        elif kind == "flatten":
            layer, c, fl = nn.Flatten(), None, True
        elif kind == "add":
            layer = Add()
        else:
            raise SystemExit(f"peer_torch: unknown layer '{kind}' in --spec")
        layers.append(layer)
        inputs.append(ins)
        chans[k], flat[k] = c, fl
    for k, layer in enumerate(layers):
        if layer is None:
            consumers = sum(inputs[k][0] in ins for ins in inputs)
            layers[k] = nn.ReLU(inplace=consumers == 1 and inputs[k][0] >= 0)
    return Graph(layers, inputs), decay


def crop_flip(xb, g):
    """4-pixel zero pad, random crop and random horizontal flip per image (uint8 in, uint8 out),
    as ds_loader_next: source pixel (y + dy, (flip ? w-1-x : x) + dx), dx, dy in [-PAD, PAD]."""
    b, c, h, w = xb.shape
    xp = F.pad(xb, (PAD, PAD, PAD, PAD))
    dy = torch.randint(0, 2 * PAD + 1, (b, 1), generator=g)
    dx = torch.randint(0, 2 * PAD + 1, (b, 1), generator=g)
    flip = torch.rand(b, 1, generator=g) < 0.5
    cols = torch.arange(w).expand(b, w)
    cols = torch.where(flip, w - 1 - cols, cols) + dx
    rows = torch.arange(h).expand(b, h) + dy
    return xp[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None],
              rows[:, None, :, None], cols[:, None, None, :]]


def cutout(xb, size, g):
    """Zeroes a size x size square per image (normalized floats in: zero is the channel mean),
    top-left (cy - size//2, cx - size//2) for a uniform centre, clipped, as ds_loader_next."""
    b, _, h, w = xb.shape
    cy = torch.randint(0, h, (b, 1), generator=g)
    cx = torch.randint(0, w, (b, 1), generator=g)
    ys, xs = torch.arange(h).expand(b, h), torch.arange(w).expand(b, w)
    inside_y = (ys >= cy - size // 2) & (ys < cy - size // 2 + size)
    inside_x = (xs >= cx - size // 2) & (xs < cx - size // 2 + size)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return xb * keep[:, None, :, :].to(xb.dtype)


class Batches:
    """Shuffled full batches of a split; a new permutation when less than a batch is left."""

    def __init__(self, n, batch, g):
        self.n, self.batch, self.g, self.pos = n, batch, g, n

    def next(self):
        if self.pos + self.batch > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.g), 0
        self.pos += self.batch
        return self.perm[self.pos - self.batch:self.pos]


def load_dump(path, shape, mean, std, who):
    """The raw dump the bench writes (train images, labels, test images, labels as uint8) as
    tensors, and the per-batch normalization the harness loader applies."""
    n_train, n_test, c, h, w = (int(v) for v in shape.split(","))
    px = c * h * w
    raw = np.fromfile(path, dtype=np.uint8)
    want = (n_train + n_test) * (px + 1)
    if raw.size != want:
        raise SystemExit(f"{who}: {path} has {raw.size} bytes, expected {want}")
    o = 0

    def take(n):
        nonlocal o
        o += n
        return torch.from_numpy(raw[o - n:o])
    xtr = take(n_train * px).view(n_train, c, h, w)
    ytr = take(n_train).long()
    xte = take(n_test * px).view(n_test, c, h, w)
    yte = take(n_test).long()
    m = torch.tensor(mean).view(1, c, 1, 1)
    sd = torch.tensor(std).view(1, c, 1, 1)

    def normalize(xb):
        return (xb.float() / 255.0 - m) / sd
    return xtr, ytr, xte, yte, normalize


def floats(s):
    return [float(v) for v in s.split(",")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="raw dump: train images, labels, test images, labels")
    ap.add_argument("--shape", required=True, help="n_train,n_test,c,h,w")
    ap.add_argument("--mean", type=floats, required=True, help="per channel, comma-separated")
    ap.add_argument("--std", type=floats, required=True, help="per channel, comma-separated")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--augment", type=int, default=0)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--eval-batch", default="64,256")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr, xte, yte, normalize = load_dump(args.data, args.shape, args.mean, args.std, "peer_torch")
    n_train, n_test, c = xtr.shape[0], xte.shape[0], xtr.shape[1]
    g = torch.Generator().manual_seed(args.seed)
    model, decay = build(args.spec, c)
    rest = [p for p in model.parameters() if all(p is not d for d in decay)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.wd},
                           {"params": rest, "weight_decay": 0.0}], lr=args.lr, momentum=args.momentum)
    batches = Batches(n_train, args.batch, g)

    def train_steps(steps):
        for _ in range(steps):
            idx = batches.next()
            xb = xtr[idx]
            if args.augment:
                xb = crop_flip(xb, g)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(normalize(xb)), ytr[idx])
            loss.backward()
            opt.step()

    model.train()
    train_steps(args.warmup)
    train = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        train_steps(args.steps)
        train.append(args.steps * args.batch / (time.perf_counter() - t0))
    print("train_ips " + " ".join(f"{v:.1f}" for v in train), flush=True)

    model.eval()
    xte = normalize(xte)
    with torch.no_grad():
        for eb in (int(v) for v in args.eval_batch.split(",")):
            model(xte[:eb])  # warm-up
            infer = []
            for _ in range(args.reps):
                correct = 0
                t0 = time.perf_counter()
                for i in range(0, n_test, eb):
                    correct += (model(xte[i:i + eb]).argmax(1) == yte[i:i + eb]).sum().item()
                infer.append(n_test / (time.perf_counter() - t0))
            print(f"infer_ips {eb} " + " ".join(f"{v:.1f}" for v in infer), flush=True)

    print(f"test_acc {100.0 * correct / n_test:.2f}")
    print(f"params {sum(p.numel() for p in model.parameters())}")
    print(f"maxrss_kib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
    print(f"version {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
