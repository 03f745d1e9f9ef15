#!/usr/bin/env python3
"""Regenerates fuzz/corpus/<target>/seed-* from IPC.md's example blocks.

Run from anywhere: python3 fuzz/make-seeds.py. The seeds are committed; other
files libFuzzer adds to the corpus directories are ignored by git.
"""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
doc = (root / "IPC.md").read_text()
corpus = root / "fuzz" / "corpus"

blocks = re.findall(r"^```(ndjson|framed)\n(.*?)^```", doc, re.S | re.M)


def wire(lang, text):
    if lang == "ndjson":
        return text.encode() + b"\n"
    parts = text.split(" ", 4)
    prefix = bytes(int(p, 16) for p in parts[:4])
    return prefix + (parts[4].encode() if len(parts) > 4 else b"")


def json_of(lang, text):
    return text.encode() if lang == "ndjson" else text.split(" ", 4)[4].encode()


streams, client_json, all_json = [], [], []
for lang, body in blocks:
    stream = b""
    for line in body.splitlines():
        if not line or line[0] not in "<>":
            continue
        text = line[2:] if len(line) > 1 else ""
        if line[0] == ">":
            stream += wire(lang, text)
            if text.startswith("{"):
                client_json.append(json_of(lang, text))
        if text.count(" ") >= 4 or lang == "ndjson":
            try:
                j = json_of(lang, text)
            except IndexError:
                continue
            if j.startswith(b"{") or j.startswith(b"["):
                all_json.append(j)
    streams.append(stream)


def write(target, seeds):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    seen = []
    for s in seeds:
        if s not in seen:
            seen.append(s)
    for i, s in enumerate(seen):
        (d / f"seed-{i:03}").write_bytes(s)
    print(f"{target}: {len(seen)} seeds")


# connection: first byte = read size, then the client's byte stream.
write("connection",
      [bytes([255]) + s for s in streams]
      + [bytes([7]) + s for s in streams]
      + [bytes([1]) + s for s in streams[:2]]
      + [bytes([64]) + j + b"\n" for j in client_json])
# roundtrip: selector 4/5 = JSON value mode; 0..3 = structured modes fed
# with the same bytes as entropy.
write("roundtrip",
      [bytes([4]) + j for j in all_json]
      + [bytes([k]) + j for k in range(4) for j in client_json[:8]])
write("guard_differential", all_json + [
    b'"\\ud83c\\udfa7"', b'[1e400]', b'-0.0e+00', b'{"a":"\\u0000\\/"}',
])
