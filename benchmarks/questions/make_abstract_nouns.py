"""Write src/fingereval/ask/abstract_nouns.py: the nouns WordNet 3.0 files only as feelings, thoughts, attributes
or motives (its lexicographer files noun.feeling, noun.cognition, noun.attribute, noun.motive), never as an object,
a person, an animal, a plant, a body part, food, a substance, a place, a group, an act, an event, a state, a
phenomenon or a text: "disgust", "technique", "thought", "concept", "blur". No sense of such a word is a thing a
viewer could point at, so the templates generator never makes it an entity (benchmarks/questions/README.md,
"What counts as an entity").

Acts and events are left out: their nouns are often things as well in a video prompt ("a punch" the drink, "a
match" the stick, "the festival", "a splash"), and the labelled sample loses right entities with them. States are
left out: WordNet files marks on a body there ("a scar", "a bruise", "acne"), which a person may ask to see.
Kept are single words that lemminflect's lexicon (the one the tagger reads) knows as a noun in that form, which
drops WordNet's rare and technical words. Run it with WordNet 3.0's data.noun (Debian/Ubuntu: the wordnet-base
package, /usr/share/wordnet/data.noun):

    .venv/bin/python benchmarks/questions/make_abstract_nouns.py /usr/share/wordnet/data.noun
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import lemminflect

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src" / "fingereval" / "ask" / "abstract_nouns.py"
# WordNet's lexicographer file numbers (lexnames, WordNet 3.0) for the abstract kinds kept
ABSTRACT_FILES = {7: "noun.attribute", 9: "noun.cognition", 12: "noun.feeling", 16: "noun.motive"}
NOTICE = """WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES,
EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR
WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE,
DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.
The name of Princeton University or Princeton may not be used in advertising or publicity pertaining to
distribution of the software and/or database. Title to copyright in this software, database and any associated
documentation shall at all times remain with Princeton University and LICENSEE agrees to preserve same."""


def abstract_nouns(data_noun: Path) -> list[str]:
    kinds: dict[str, set[int]] = defaultdict(set)
    for line in data_noun.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue  # the licence header
        fields = line.split()
        lex_file, n_words = int(fields[1]), int(fields[3], 16)
        for k in range(n_words):
            kinds[fields[4 + 2 * k].lower()].add(lex_file)
    return sorted(word for word, files in kinds.items()
                  if files <= ABSTRACT_FILES.keys() and word.isascii() and word.isalpha()
                  and word in lemminflect.getAllLemmas(word).get("NOUN", ()))


def main() -> None:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        sys.exit("make_abstract_nouns.py: give WordNet 3.0's data.noun (wordnet-base: /usr/share/wordnet/data.noun)")
    words = abstract_nouns(Path(sys.argv[1]))
    lines, line = [], ""
    for word in words:
        if len(line) + len(word) + 1 > 112:
            lines.append(line)
            line = ""
        line = f"{line} {word}" if line else word
    lines.append(line)
    body = "\n".join(f"    {text}" for text in lines)
    notice = "\n".join(f"# {text}" for text in NOTICE.splitlines())
    OUT.write_text(
        f'"""Nouns that are never a thing on screen, from WordNet 3.0 (written by\n'
        f'benchmarks/questions/make_abstract_nouns.py, which says which; do not edit by hand)."""\n'
        f"{notice}\n\nABSTRACT_NOUNS = frozenset(\"\"\"\n{body}\n\"\"\".split())\n")
    print(f"{len(words)} nouns -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
