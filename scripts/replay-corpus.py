#!/usr/bin/env python3
"""Writes the newsdiffs-se corpus replayed TIMES times under new URLs, as JSON Lines, for
scale benchmarks. Copy k > 0 gets `?replay=k` on its URL and article id and, with --edit,
one word of each body changed at random, so copies are new versions, not duplicates.
Usage: scripts/replay-corpus.py TIMES [--edit] > replayed.jsonl   (NEWSVAULT_CORPUS points at the corpus)"""
import gzip, json, os, random, sys

def main():
    times = int(sys.argv[1])
    edit = "--edit" in sys.argv
    corpus = os.environ.get("NEWSVAULT_CORPUS", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus"))
    with gzip.open(os.path.join(corpus, "newsdiffs-se", "versions.jsonl.gz"), "rt", encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    rng = random.Random(7)
    out = sys.stdout
    for k in range(times):
        for record in lines:
            if k:
                record = dict(record)
                record["url"] = f"{record['url']}?replay={k}"
                record["article_id"] = f"{record['article_id']}?replay={k}"
                if edit:
                    words = record["text"].split(" ")
                    if len(words) > 10:
                        words[rng.randrange(len(words))] = f"ord{rng.randrange(1000)}"
                    record["text"] = " ".join(words)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        # `| head -n N` closes the pipe once it has its lines: that is the usual way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

