#!/usr/bin/env python3
"""mktree.py - reproducible inputs for the benchmarks.

    mktree.py DIR FILES TOTAL_MIB [SEED]
    mktree.py --mixed FILE MIB [SEED]
    mktree.py --many DIR FILES BYTES

The first form writes a tree of many files for the extraction benchmark.

Sizes follow a rough log-uniform spread (a few hundred bytes to about a
megabyte, the shape of a software release's files), spread over nested
folders.  Three files in four are text-like (compressible, like scripts,
headers and configs), one in four is random bytes (like stripped binaries
or already-compressed assets).  The same arguments give the same bytes.

--mixed writes one file of 1 MiB blocks in turn text-like, random, and
base64 of random bytes: data gzip -6 shrinks to about 70%, like a
release holding scripts, binaries and already-compressed archives.

--many writes FILES files of BYTES bytes each (text), 400 to a folder: the
many-small-files install and uninstall benchmark.
"""
import base64
import os
import random
import sys

WORDS = (
    "the of and to in is for on that with as by it this be are from at or an "
    "config service daemon install module release device edge runtime agent "
    "container engine image registry manifest signature payload offline bundle "
    "return static const struct int char void if else while for unsigned size_t "
    "error warning info debug path file folder root prefix version channel "
    "0 1 2 3 4 5 6 7 8 9 10 16 32 64 128 256 1024 4096 { } ( ) ; = == != -> "
).split()


def text_block(rng, size):
    out = []
    n = 0
    while n < size:
        line = " ".join(rng.choices(WORDS, k=rng.randint(4, 14))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


def mixed(path, mib, rng):
    with open(path, "wb") as f:
        for i in range(mib):
            kind = i % 3
            if kind == 0:
                f.write(text_block(rng, 1 << 20))
            elif kind == 1:
                f.write(rng.randbytes(1 << 20))
            else:
                f.write(base64.b64encode(rng.randbytes(3 << 18))[: 1 << 20])
    return 0


def many(root, nfiles, size):
    rng = random.Random(1)
    for i in range(nfiles):
        sub = os.path.join(root, "d%03d" % (i // 400))
        if i % 400 == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%06d.txt" % i), "wb") as f:
            f.write(text_block(rng, size))
    return 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--many":
        return many(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--mixed":
        rng = random.Random(int(sys.argv[4]) if len(sys.argv) == 5 else 1)
        return mixed(sys.argv[2], int(sys.argv[3]), rng)
    if len(sys.argv) not in (4, 5):
        sys.stderr.write(__doc__)
        return 2
    root, nfiles, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) << 20
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) == 5 else 1)
    weights = [rng.uniform(5.5, 20.0) for _ in range(nfiles)]
    raw = [2.0 ** w for w in weights]
    scale = total / sum(raw)
    sizes = [max(1, int(r * scale)) for r in raw]
    sizes[-1] = max(1, sizes[-1] + total - sum(sizes))
    for i, size in enumerate(sizes):
        sub = os.path.join(root, "d%02d" % (i % 23), "s%d" % (i % 7))
        os.makedirs(sub, exist_ok=True)
        name = os.path.join(sub, "f%05d.%s" % (i, "bin" if i % 4 == 3 else "txt"))
        if i % 4 == 3:
            data = rng.randbytes(size)
        else:
            data = text_block(rng, size)
        with open(name, "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
