"""Tagging throughput of the pretrained musicnn taggers on one CPU thread, in x real time.

Run from the project root (after `make setup`):

    .venv/bin/python benchmarks/tagger.py [--model msd_vgg] [--seconds 30] [--repeats 5]

It tags a 30-s clip (noise plus tones at 22,050 Hz, so resampling to 16 kHz and the log-mel are
included) and reports the best and median of the repeats, the network alone, and the machine's load
average (other jobs inflate the wall time). Goal of issue 5: >= 50x real time for MSD_vgg.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="msd_vgg", choices=["msd_vgg", "msd_musicnn"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sr", type=int, default=22050, help="sample rate of the test clip")
    args = parser.parse_args()

    from musicrec.features.tagger import load_tagger, logmel, make_patches
    from musicrec.utils import setup_torch

    setup_torch("cpu", threads=1)
    tagger = load_tagger(args.model)
    rng = np.random.default_rng(0)
    t = np.arange(int(args.seconds * args.sr)) / args.sr
    audio = (0.05 * rng.standard_normal(len(t)) + 0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    tagger.tag(audio, args.sr)  # warm-up (librosa's lazy imports, torch kernels)

    full, network = [], []
    patches = make_patches(logmel(audio, args.sr))
    for _ in range(args.repeats):
        start = time.perf_counter()
        tagger.tag(audio, args.sr)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        tagger.forward_patches(patches)
        network.append(time.perf_counter() - start)
    load = os.getloadavg()
    print(f"model {args.model}, {args.seconds:g} s clip at {args.sr} Hz, {len(patches)} patches, 1 thread")
    print(f"end to end (resample + log-mel + network): best {args.seconds / min(full):.0f}x real time, "
          f"median {args.seconds / statistics.median(full):.0f}x")
    print(f"network only: best {args.seconds / min(network):.0f}x real time")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
