"""Diagnostic training loop behind the README table "Training the tiny model" (a scratch tool, kept so the numbers can be rerun).

Plain torch loop on the real collators; reports held-out accuracy per question form: the answer slot (answer-only), or with
--cot --reason the first word read off the video. Examples:
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/diagnostics/probe_learning.py --n 2000 --forms static --steps 600
    python3 benchmarks/diagnostics/probe_learning.py --n 2000 --device cuda --cot --reason --packed --one-entity --radius 0.2 --seconds 215
"""
import argparse, json, time, random, sys, dataclasses
from pathlib import Path
import torch
from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model
from fingereval.probes.make import make_probes, split_probes
from fingereval.train.collate import SFTCollator, PackedSFTCollator, video_groups
from fingereval.train.examples import ClipCache
from fingereval.video import VideoConfig
from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=200); p.add_argument("--steps", type=int, default=600)
p.add_argument("--lr", type=float, default=3e-3); p.add_argument("--bs", type=int, default=8)
p.add_argument("--forms", default=""); p.add_argument("--shape", default="{}")
p.add_argument("--eval-every", type=int, default=200); p.add_argument("--out", default="/tmp/fingereval-diag")
p.add_argument("--vlr", type=float, default=None); p.add_argument("--wd", type=float, default=0.0)
p.add_argument("--reason", action="store_true"); p.add_argument("--seed", type=int, default=0)
p.add_argument("--curriculum", type=int, default=0); p.add_argument("--device", default="cpu"); p.add_argument("--seconds", type=float, default=1e9); p.add_argument("--probes-dir", default=""); p.add_argument("--one-entity", action="store_true"); p.add_argument("--radius", type=float, default=0.1); p.add_argument("--cot", action="store_true"); p.add_argument("--packed", action="store_true"); p.add_argument("--limit-train", type=int, default=0); p.add_argument("--merger-scale", type=float, default=1.0); p.add_argument("--base", default="", help="start from this checkpoint instead of a fresh tiny model")
a = p.parse_args()
torch.manual_seed(a.seed); random.seed(a.seed)
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
cfg = VideoConfig(fps=2.0, max_frames=8, size=112)
probes_dir = Path(a.probes_dir or f"/tmp/fingereval-probes{a.n}")
if not (probes_dir / "qa_heldout.jsonl").exists():
    pr = make_probes(probes_dir, a.n, seed=0, size=112, seconds=4.0, max_entities=1 if a.one_entity else 3, radius=a.radius); split_probes(pr.root, held_out=0.2, seed=0)
def rows(f):
    rs = [json.loads(l) for l in open(probes_dir / f)]
    for r in rs: r["video"] = str(probes_dir / r["video"])
    if a.forms: rs = [r for r in rs if r["form"] in a.forms.split(",")]
    return rs
train, held = rows("qa_train.jsonl"), rows("qa_heldout.jsonl")
if a.cot:
    sys.path.insert(0, str(Path(__file__).parent)); from cot import cot
    for r in train + held: r["reason"], r["alt_reason"] = cot(r)
if a.limit_train: train = train[:a.limit_train]
shape = dataclasses.replace(PROBE_SHAPE, **json.loads(a.shape))
md = a.base or build_tiny_model(out / "base", shape, seed=a.seed)
proc = AutoProcessor.from_pretrained(md)
model = Qwen2_5_VLForConditionalGeneration.from_pretrained(md).to(a.device)
def dev(b): return {k: (v.to(a.device) if hasattr(v, 'to') else v) for k, v in b.items()}
with torch.no_grad(): model.model.visual.merger.mlp[2].weight.mul_(a.merger_scale)
col = SFTCollator(proc, ClipCache(cfg), reason=a.reason)
pcol = PackedSFTCollator(proc, col.clips, reason=a.reason, rope_index=model.model.get_rope_index)
groups = video_groups(train)
tok = proc.tokenizer
Y, N = tok.convert_tokens_to_ids("Yes"), tok.convert_tokens_to_ids("No")
vis = [p_ for n_, p_ in model.named_parameters() if "visual" in n_]
rest = [p_ for n_, p_ in model.named_parameters() if "visual" not in n_]
opt = torch.optim.AdamW([{"params": vis, "lr": a.vlr or a.lr}, {"params": rest, "lr": a.lr}], weight_decay=a.wd)
print(f"train {len(train)} held {len(held)} params {sum(x.numel() for x in model.parameters())/1e6:.2f}M", flush=True)

from fingereval.train.collate import assistant_text
def value_margin(rs):
    b = col(rs); lab = b["labels"]; outp = model(**{k: v for k, v in dev(b).items() if k != "labels"})
    res = []
    for i, r in enumerate(rs):
        t1 = tok(assistant_text(r, True), add_special_tokens=False)["input_ids"]
        t2 = tok(assistant_text(dict(r, reason=r["alt_reason"]), True), add_special_tokens=False)["input_ids"]
        d = next(j for j in range(min(len(t1), len(t2))) if t1[j] != t2[j])
        start = [j for j in range(lab.shape[1]) if lab[i, j] != -100][0]
        lg = outp.logits[i, start + d - 1]
        assert lab[i, start + d].item() == t1[d], (r["reason"], d)
        res.append((lg[t1[d]] - lg[t2[d]]).item())
    return res
def slot_logits(batch):
    outp = model(**{k: v for k, v in batch.items() if k != "labels"})
    lab = batch["labels"]
    res = []
    for i in range(lab.shape[0]):
        # the answer word is the first label that is Yes/No
        pos = [j for j in range(lab.shape[1]) if lab[i, j].item() in (Y, N)][0]
        lg = outp.logits[i, pos - 1]
        res.append((lg[Y] - lg[N]).item())
    return res

@torch.no_grad()
def evaluate(rs, limit=400):
    model.eval(); rs = rs[:limit]; per = {}; correct = 0
    for i in range(0, len(rs), 16):
        b = rs[i:i+16]
        if a.cot:
            d = value_margin(b); oks = [x > 0 for x in d]
        else:
            d = slot_logits(dev(col(b))); oks = [(x > 0) == (r["answer"] == "yes") for r, x in zip(b, d)]
        for r, ok in zip(b, oks):
            correct += ok
            per.setdefault(r["form"], []).append(ok)
    model.train()
    return correct / len(rs), {k: round(sum(v)/len(v), 2) for k, v in sorted(per.items())}

forms_order = sorted({r["form"] for r in train})
t0 = time.time(); step = 0; losses = []
while step < a.steps and time.time() - t0 < a.seconds:
    pool = train
    if a.curriculum:
        k = min(len(forms_order), 1 + step // a.curriculum)
        pool = [r for r in train if r["form"] in forms_order[:k]]
    if a.packed:
        batch = dev(pcol(random.sample(groups, a.bs)))
    else:
        batch = dev(col(random.sample(pool, a.bs)))
    loss = model(**batch).loss
    loss.backward(); gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); opt.zero_grad()
    losses.append(loss.item()); step += 1
    if step % a.eval_every == 0 or step == a.steps or time.time() - t0 >= a.seconds:
        tr = evaluate(train, 200); he = evaluate(held, 400)
        print(f"step {step} {time.time()-t0:.0f}s loss {sum(losses[-50:])/len(losses[-50:]):.3f} gn {gn:.2f} train {tr[0]:.3f} held {he[0]:.3f} {he[1]}", flush=True)
