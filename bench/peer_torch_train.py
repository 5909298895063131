#!/usr/bin/python3
"""PyTorch peer for bench/peer_recipe.c: trains the network the harness builds (the same layer
graph as bench/peer_torch.py) with a config's whole recipe (optimizer, schedule with warm-up,
weight decay on conv/linear weights only, batch, pad-4 crop + flip, epochs, seed, threads) on the
same images, evaluating the test split after every epoch as the harness's runner does.

Writes OUT/metrics.csv (one row per epoch) and, at the end, OUT/result.json; OUT/checkpoint.pt
after every epoch (model, optimizer, RNG), from which --resume continues. All three are written to
a temporary name and renamed."""
import argparse
import json
import math
import os
import sys
import time

from peer_torch import build, crop_flip, cutout, floats, load_dump  # exits 3 when torch is missing

import torch
import torch.nn as nn


def ints(s):
    return [int(v) for v in s.split(",")] if s else []


def schedule_lr(a, e):
    """nn/schedule.c: const/step/multistep/cosine of the fractional epoch, then a linear warm-up
    from 1/10 of it at epoch 0 to all of it at `warmup` epochs."""
    if a.schedule == "const":
        lr = a.lr
    elif a.schedule == "step":
        lr = a.lr * a.gamma ** math.floor(e / a.step_size)
    elif a.schedule == "multistep":
        lr = a.lr * a.gamma ** sum(e >= m for m in a.milestones)
    else:
        t = e / a.epochs if e < a.epochs else 1.0
        lr = a.min_lr + (a.lr - a.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))
    if a.warmup > 0 and e < a.warmup:
        lr *= 0.1 + 0.9 * e / a.warmup
    return lr


def init_weights(model, scheme):
    """nn/model_init.c: conv/linear weights with variance 2/fan_in (normal or uniform), biases 0;
    batch norm at gamma 1, beta 0 (PyTorch's default already)."""
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            if scheme == "kaiming-normal":
                nn.init.kaiming_normal_(mod.weight, mode="fan_in", nonlinearity="relu")
            else:
                nn.init.kaiming_uniform_(mod.weight, mode="fan_in", nonlinearity="relu")
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--shape", required=True, help="n_train,n_test,c,h,w")
    ap.add_argument("--mean", type=floats, required=True)
    ap.add_argument("--std", type=floats, required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config-hash", default="")
    ap.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    ap.add_argument("--schedule", choices=["const", "step", "multistep", "cosine"], default="const")
    ap.add_argument("--init", choices=["kaiming-normal", "kaiming-uniform"], default="kaiming-normal")
    ap.add_argument("--milestones", type=ints, default=[])
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--eval-batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--augment", type=int, default=0)
    ap.add_argument("--cutout", type=int, default=0)
    ap.add_argument("--nesterov", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--step-size", type=int, default=1)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--min-lr", type=float, default=0.0)
    ap.add_argument("--betas", type=floats, default=[0.9, 0.999])
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr, xte, yte, normalize = load_dump(a.data, a.shape, a.mean, a.std, "peer_torch_train")
    n_train, n_test, c = xtr.shape[0], xte.shape[0], xtr.shape[1]
    model, decay = build(a.spec, c)
    init_weights(model, a.init)
    rest = [p for p in model.parameters() if all(p is not d for d in decay)]
    groups = [{"params": decay, "weight_decay": a.wd}, {"params": rest, "weight_decay": 0.0}]
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=a.lr, momentum=a.momentum, nesterov=bool(a.nesterov))
    else:
        opt = torch.optim.Adam(groups, lr=a.lr, betas=tuple(a.betas), eps=1e-8)
    g = torch.Generator().manual_seed(a.seed)
    loss_fn = nn.CrossEntropyLoss()

    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "checkpoint.pt")
    metrics_path = os.path.join(a.out, "metrics.csv")
    header = "epoch,lr,train_loss,train_acc,test_loss,test_acc\n"
    rows, start, seconds = [], 0, 0.0
    if a.resume and os.path.exists(ckpt_path):
        st = torch.load(ckpt_path)
        if st["config_hash"] != a.config_hash:
            raise SystemExit(f"peer_torch_train: {ckpt_path} belongs to config {st['config_hash']}, not {a.config_hash}")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        g.set_state(st["gen"])
        torch.set_rng_state(st["rng"])
        rows, start, seconds = st["rows"], st["epoch"], st["seconds"]
        print(f"resuming after epoch {start} of {a.epochs}", flush=True)

    n_batches = (n_train + a.batch - 1) // a.batch
    for epoch in range(start, a.epochs):
        model.train()
        perm = torch.randperm(n_train, generator=g)
        t0 = time.time()
        loss_sum, correct = 0.0, 0
        for b in range(n_batches):
            idx = perm[b * a.batch:(b + 1) * a.batch]
            xb = xtr[idx]
            if a.augment:
                xb = crop_flip(xb, g)
            xb, yb = normalize(xb), ytr[idx]
            if a.cutout:
                xb = cutout(xb, a.cutout, g)
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            lr = schedule_lr(a, epoch + b / n_batches)
            for grp in opt.param_groups:
                grp["lr"] = lr
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        seconds += time.time() - t0
        model.eval()
        tl, tc = 0.0, 0
        with torch.no_grad():
            for s in range(0, n_test, a.eval_batch):
                out = model(normalize(xte[s:s + a.eval_batch]))
                yb = yte[s:s + a.eval_batch]
                tl += loss_fn(out, yb).item() * len(yb)
                tc += (out.argmax(1) == yb).sum().item()
        row = (epoch + 1, schedule_lr(a, epoch), loss_sum / n_train, 100.0 * correct / n_train,
               tl / n_test, 100.0 * tc / n_test)
        rows.append("%d,%.6g,%.6f,%.4f,%.6f,%.4f\n" % row)
        print("epoch %3d/%d  lr %.5g  train loss %.4f acc %6.2f%%  test loss %.4f acc %6.2f%%  %6.0f img/s"
              % ((row[0], a.epochs) + row[1:] + (n_train / (time.time() - t0),)), flush=True)
        write_atomic(metrics_path, header + "".join(rows))
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": g.get_state(),
                    "rng": torch.get_rng_state(), "rows": rows, "epoch": epoch + 1,
                    "seconds": seconds, "config_hash": a.config_hash}, tmp)
        os.replace(tmp, ckpt_path)

    accs = [float(r.rsplit(",", 1)[1]) for r in rows]
    result = {"peer": "pytorch", "torch_version": torch.__version__, "config_hash": a.config_hash,
              "epochs": a.epochs, "threads": a.threads, "final_acc": accs[-1], "best_acc": max(accs),
              "train_seconds": round(seconds, 1),
              "params": sum(p.numel() for p in model.parameters())}
    write_atomic(os.path.join(a.out, "result.json"), json.dumps(result, indent=2) + "\n")
    print(f"final test accuracy {accs[-1]:.2f}% after {a.epochs} epochs", flush=True)


if __name__ == "__main__":
    sys.exit(main())
