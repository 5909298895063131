#!/usr/bin/python3
"""SFP's zeroing step in PyTorch, to hold the harness's SFP against the framework the official code
uses: ResNet-20 (1x1 projection shortcuts, as the harness's resnet20) trained from scratch on the
first CIFAR-10 binary batch (10,000 images; BATCHES = 5: all 50,000, the harness's full set;
the harness's `[data] train_subset` draws its images at random instead), SGD Nesterov 0.9,
LR 0.1 cosine with one warm-up epoch, weight decay 5e-4 on conv/linear weights, batch 128, pad-4
crop + flip (one crop per batch here). After every epoch the 30 % lowest-L2 filters of the chosen
convs are zeroed, as the official pruning_cifar10_resnet.py does (per conv, no batch-norm
re-estimation), and the mean norm of the filters zeroed at the previous step is printed against
the kept ones' (how far they grew back).
  usage: peer_torch_sfp.py CIFAR_BIN_DIR none|internal|all [EPOCHS [BATCHES]]
  internal: each block's first conv (the harness: --set method.layers=s1b1.conv1,...,s3b3.conv1)"""
import sys, math, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
if len(sys.argv) < 3 or sys.argv[2] not in ("none", "internal", "all"):
    sys.exit(__doc__)
torch.set_num_threads(2); torch.manual_seed(1); np.random.seed(1)
bindir, mode = sys.argv[1], sys.argv[2]; E = int(sys.argv[3]) if len(sys.argv) > 3 else 4
nb = int(sys.argv[4]) if len(sys.argv) > 4 else 1
def load(f):
    r = np.fromfile(f, dtype=np.uint8).reshape(-1, 3073)
    return torch.from_numpy(r[:, 1:].reshape(-1, 3, 32, 32).copy()), torch.from_numpy(r[:, 0].astype(np.int64))
parts = [load(f'{bindir}/data_batch_{i}.bin') for i in range(1, nb + 1)]
xtr, ytr = torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts]); xte, yte = load(bindir + '/test_batch.bin')
mean = xtr.float().mean((0, 2, 3), keepdim=True) / 255; std = (xtr.float() / 255).std((0, 2, 3), keepdim=True)
norm = lambda x: (x.float() / 255 - mean) / std
class Block(nn.Module):
    def __init__(s, i, o, st):
        super().__init__(); s.c1 = nn.Conv2d(i, o, 3, st, 1, bias=False); s.b1 = nn.BatchNorm2d(o)
        s.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(o)
        s.sh = None if st == 1 and i == o else nn.Sequential(nn.Conv2d(i, o, 1, st, bias=False), nn.BatchNorm2d(o))
    def forward(s, x):
        y = F.relu(s.b1(s.c1(x))); y = s.b2(s.c2(y))
        return F.relu(y + (x if s.sh is None else s.sh(x)))
class R20(nn.Module):
    def __init__(s):
        super().__init__(); s.c = nn.Conv2d(3, 16, 3, 1, 1, bias=False); s.b = nn.BatchNorm2d(16)
        L = []; i = 16
        for o, st in [(16, 1), (32, 2), (64, 2)]:
            for k in range(3): L.append(Block(i, o, st if k == 0 else 1)); i = o
        s.L = nn.Sequential(*L); s.fc = nn.Linear(64, 10)
    def forward(s, x):
        x = F.relu(s.b(s.c(x))); x = s.L(x); return s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
m = R20()
for mod in m.modules():
    if isinstance(mod, (nn.Conv2d, nn.Linear)): nn.init.kaiming_normal_(mod.weight, nonlinearity='relu')
decay = [p for n, p in m.named_parameters() if p.dim() > 1]; rest = [p for n, p in m.named_parameters() if p.dim() <= 1]
opt = torch.optim.SGD([{'params': decay, 'weight_decay': 5e-4}, {'params': rest, 'weight_decay': 0}], lr=0.1, momentum=0.9, nesterov=True)
convs = [b.c1 for b in m.L] if mode == 'internal' else ([mod for mod in m.modules() if isinstance(mod, nn.Conv2d)] if mode == 'all' else [])
prev = {}
def lr_at(e):
    t = e / E; lr = 0.1 * 0.5 * (1 + math.cos(math.pi * t))
    return lr * (0.1 + 0.9 * e) if e < 1 else lr
g = torch.Generator().manual_seed(1); N = xtr.shape[0]; B = 128
for ep in range(E):
    m.train(); perm = torch.randperm(N, generator=g); corr = 0; ls = 0
    for b in range(0, N, B):
        idx = perm[b:b + B]; xb = xtr[idx]
        xp = F.pad(xb, (4, 4, 4, 4)); dy, dx = np.random.randint(0, 9, 2); xb = xp[:, :, dy:dy + 32, dx:dx + 32]
        if np.random.rand() < .5: xb = xb.flip(3)
        out = m(norm(xb)); loss = F.cross_entropy(out, ytr[idx])
        opt.zero_grad(); loss.backward()
        for grp in opt.param_groups: grp['lr'] = lr_at(ep + b / N)
        opt.step(); corr += (out.argmax(1) == ytr[idx]).sum().item(); ls += loss.item() * len(idx)
    again = tot = 0; ratios = []
    with torch.no_grad():
        for k, c in enumerate(convs):
            nrm = c.weight.flatten(1).norm(dim=1); n = int(c.weight.shape[0] * 0.3)
            if k in prev:
                ratios.append((nrm[prev[k]].mean() / nrm[[i for i in range(len(nrm)) if i not in prev[k]]].mean()).item())
            sel = nrm.argsort()[:n].tolist(); again += len(set(sel) & set(prev.get(k, []))); tot += n; prev[k] = sel
            c.weight[sel] = 0
    m.eval(); tc = 0
    with torch.no_grad():
        for s in range(0, 10000, 500): tc += (m(norm(xte[s:s + 500])).argmax(1) == yte[s:s + 500]).sum().item()
    print(f"{mode} epoch {ep+1} train {100*corr/N:.2f} loss {ls/N:.3f} test {tc/100:.2f} again {again}/{tot} regrown/kept norm {np.mean(ratios) if ratios else float('nan'):.2f}", flush=True)
