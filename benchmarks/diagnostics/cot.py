"""Diagnostics only: reformat probe reasons as '<Attr> <value>: sentence' and measure value-token accuracy (teacher forced)."""
import json, random
VALUES = {  # form -> (attr, value if literal answer yes, value if no)
    "blur": ("Edges", "sharp", "blurred"), "noise": ("Texture", "noisy", "clean"),
    "change": ("Look", "changes", "steady"), "flicker": ("Visibility", "flickers", "steady"),
    "static": ("Scene", "still", "moves"), "direction": ("Heading", None, None),
    "gravity": ("Height", "rises", "steady"), "appear": ("Colour", None, None),
}
COLS = ["red", "green", "blue", "yellow", "purple", "cyan", "white"]
def opposite(d): return "left" if d == "right" else "right"
def cot(r):
    attr, yv, nv = VALUES[r["form"]]
    q = r["question"]
    if r["form"] == "direction":
        asked = "left" if "left" in q.split()[-1] else "right"
        val = asked if r["answer"] == "yes" else opposite(asked); alt = opposite(val)
    elif r["form"] == "appear":
        asked = [c for c in COLS if f" {c} " in f" {q} "][0]
        if r["answer"] == "yes": val, alt = asked, random.Random(r["id"]).choice([c for c in COLS if c != asked])
        else:
            words = r["reason"].replace(",", " ").replace(".", " ").split()
            seen = [w for w in words if w in COLS and w != asked]
            val = seen[0] if seen else "none"; alt = asked
    else:
        val, alt = (yv, nv) if r["answer"] == "yes" else (nv, yv)
    reason = r["reason"]
    if reason.split(" ")[0] == attr:  # probes now write the finding themselves: keep only the sentence
        reason = reason.split(". ", 1)[1]
    body = reason[0].lower() + reason[1:]
    return f"{attr} {val}: {body}", f"{attr} {alt}: {body}"
