#!/usr/bin/env python3
"""What a durable commit costs on this disk, step by step from the bench's floor.

Used for BENCHMARKS.md ("Where pair p50 goes", 2026-12-02). Every variant runs
in turn within each round, so a noisy neighbour slows them all alike.

    python3 docs/bench/fsync_gaps.py [DIR]

DIR is where the scratch file goes (default: the current directory); use the
disk the data directory is on.
"""
import os
import sys
import time

FRAME = 4096 + 24  # one SQLite WAL frame: a page and its header
ROUNDS = 500
REGION_FRAMES = 1000  # written over in place, like a WAL reset after each checkpoint


def percentile(samples, p):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * p))] * 1000


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "."
    path = os.path.join(directory, "fsync-gaps.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"z" * FRAME * REGION_FRAMES)
        os.fsync(fd)
        # (name, frames, frame bytes, sync call, idle gap before it in seconds)
        variants = [
            ("floor: 1 frame + fdatasync, back to back", 1, FRAME, os.fdatasync, 0.0),
            ("1 frame + fdatasync, idle 0.1 ms before", 1, FRAME, os.fdatasync, 0.0001),
            ("1 frame + fdatasync, idle 0.25 ms before", 1, FRAME, os.fdatasync, 0.00025),
            ("1 frame + fdatasync, idle 1 ms before", 1, FRAME, os.fdatasync, 0.001),
            ("1 frame + fdatasync, idle 5 ms before", 1, FRAME, os.fdatasync, 0.005),
            ("5 frames + fdatasync, idle 0.25 ms", 5, FRAME, os.fdatasync, 0.00025),
            ("5 frames + fsync, idle 0.25 ms (SQLite)", 5, FRAME, os.fsync, 0.00025),
            ("5 frames of 1 KiB pages + fsync, 0.25 ms", 5, 1024 + 24, os.fsync, 0.00025),
        ]
        results = {name: [] for name, *_ in variants}
        offset = 0
        for _ in range(ROUNDS):
            for name, frames, size, sync, gap in variants:
                if gap:
                    time.sleep(gap)
                started = time.perf_counter()
                for _ in range(frames):
                    if offset + size > FRAME * REGION_FRAMES:
                        offset = 0
                    os.pwrite(fd, b"y" * size, offset)
                    offset += size
                sync(fd)
                results[name].append(time.perf_counter() - started)
        for name, *_ in variants:
            print(f"{name:44} p50 {percentile(results[name], 0.5):.3f} ms"
                  f"  p90 {percentile(results[name], 0.9):.3f} ms")
    finally:
        os.close(fd)
        os.remove(path)


if __name__ == "__main__":
    main()
