#!/usr/bin/env python3
"""Appends N valid, hash-chained audit events to a cityteller SQLite database
(for the `audit verify` benchmark). The chain encoding is the one in
crates/domain/src/audit_chain.rs, written independently here; a wrong byte
would make `audit verify` fail, so the benchmark also cross-checks it.

Usage: gen_audit.py DB_FILE N
Also writes the same canonical byte strings, in order, to DB_FILE.raw
(length-prefixed) for the plain SHA-256 chain baseline.
"""
import hashlib
import sqlite3
import struct
import sys


def text(b: bytes) -> bytes:
    return struct.pack(">Q", len(b)) + b


def opt(b) -> bytes:
    return b"\x00" if b is None else b"\x01" + text(b)


def canonical(at, actor, action, target, outcome, ip, details) -> bytes:
    return (b"\x01" + struct.pack(">q", at) + text(actor) + text(action) + opt(target)
            + text(outcome) + opt(ip) + text(details))


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(path)
    seq, head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    prev = bytes.fromhex(head)
    rows = []
    raw = open(path + ".raw", "wb")
    at0 = 1_790_000_000_000_000
    for i in range(1, n + 1):
        s = seq + i
        actor = b"resident:3688ad72e66b"
        action = b"payment.succeeded" if i % 3 else b"lookup.succeeded"
        target = ("payment:%032x" % i).encode()
        outcome = b"success"
        ip = b"203.0.113.%d" % (i % 250)
        details = b'{"via":"webhook","receipt_number":"R2026-%06d","total_cents":%d,"card_brand":"visa"}' % (i % 999999, 1000 + i)
        c = canonical(at0 + i, actor, action, target, outcome, ip, details)
        raw.write(struct.pack(">I", len(c)) + c)
        h = hashlib.sha256(prev + c).digest()
        rows.append((s, at0 + i, actor.decode(), action.decode(), target.decode(), outcome.decode(),
                     ip.decode(), details.decode(), prev.hex(), h.hex()))
        prev = h
        if len(rows) >= 50_000:
            db.executemany("INSERT INTO audit_events (seq, at, actor, action, target, outcome, source_ip, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            rows.clear()
    if rows:
        db.executemany("INSERT INTO audit_events (seq, at, actor, action, target, outcome, source_ip, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq + n, prev.hex()))
    db.commit()
    raw.close()


if __name__ == "__main__":
    main()
