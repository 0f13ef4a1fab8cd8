#!/usr/bin/env python3
"""Storage commitment of a file, as IPFSIncentives checks it (docs/contracts.md, "Storage proofs").

Usage: scripts/merkle_root.py FILE [--proof INDEX]
       scripts/merkle_root.py --pattern N [--proof INDEX]   (N bytes, byte i = (7*i + 3) mod 256)

Prints sizeBytes, leafCount and merkleRoot (the ContentSpec fields), and with --proof the chunk
length and the Merkle path of leaf INDEX. Written from the rules, independently of the Solidity
code, so that its output can serve as test vectors for the contract and for other provers.
"""
import argparse
import hashlib
import sys

LEAF = 1024


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def levels(data: bytes):
    n = max(1, -(-len(data) // LEAF))
    level = [sha(data[i * LEAF:(i + 1) * LEAF]) for i in range(n)]
    width = 1
    while width < len(level):
        width *= 2
    level += [b"\0" * 32] * (width - len(level))
    out = [level]
    while len(level) > 1:
        level = [sha(level[j] + level[j + 1]) for j in range(0, len(level), 2)]
        out.append(level)
    return n, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("file", nargs="?")
    src.add_argument("--pattern", type=int, metavar="N")
    ap.add_argument("--proof", type=int, metavar="INDEX")
    a = ap.parse_args()
    if a.pattern is not None:
        data = bytes((7 * i + 3) % 256 for i in range(a.pattern))
    else:
        try:
            with open(a.file, "rb") as f:
                data = f.read()
        except OSError as e:
            print(f"merkle_root: {e}", file=sys.stderr)
            return 2
    if not data:
        print("merkle_root: an empty file has no commitment (sizeBytes must be > 0)", file=sys.stderr)
        return 2
    n, lv = levels(data)
    print(f"sizeBytes  {len(data)}")
    print(f"leafCount  {n}")
    print(f"merkleRoot 0x{lv[-1][0].hex()}")
    if a.proof is not None:
        i = a.proof
        if not 0 <= i < n:
            print(f"merkle_root: leaf {i} out of range (0..{n - 1})", file=sys.stderr)
            return 2
        print(f"chunk      {len(data[i * LEAF:(i + 1) * LEAF])} bytes")
        for k in range(len(lv) - 1):
            print(f"proof[{k}]   0x{lv[k][(i >> k) ^ 1].hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
