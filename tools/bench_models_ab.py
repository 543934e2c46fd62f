#!/usr/bin/env python3
"""Interleaved SharpSeg-vs-PyTorch timing of `SharpSeg.Bench models` workloads (issue 11), run by hand, never by CI.

This VM's speed drifts by up to 1.8x between processes over minutes, on both sides, while times inside one process are
steady. Timing all SharpSeg workloads and then all PyTorch ones therefore compares two different machines. This
script alternates the two for each workload, round after round (SharpSeg first in odd rounds, PyTorch first in even
ones), so each pair runs back to back in the same window, and reports the ratio of every pair and their median.

    /usr/bin/python3 tools/bench_models_ab.py [--rounds 5] [--runs 5] [--warmups 2] [--threads 2] [--workload substring]
        [--bench "dotnet bench/SharpSeg.Bench/bin/Release/net10.0/SharpSeg.Bench.dll"] [--json out.jsonl]

Build the bench first (`dotnet build bench/SharpSeg.Bench -c Release`). `--bench` may name another build (an A/B of
two SharpSeg commits: give a second `--bench-b` and PyTorch is skipped). A ratio above 1 means SharpSeg (or build A)
is faster: it is the other side's median seconds over ours.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_BENCH = f"dotnet {os.path.join(ROOT, 'bench/SharpSeg.Bench/bin/Release/net10.0/SharpSeg.Bench.dll')}"


def workload_names():
    """The workloads both sides know: the bench's list as printed by an unknown-workload query."""
    probe = subprocess.run([sys.executable, os.path.join(HERE, "bench_models_pytorch.py"), "--list"], capture_output=True, text=True)
    if probe.returncode == 0 and probe.stdout.strip():
        return probe.stdout.split()
    sys.exit(f"bench_models_pytorch.py --list failed: {probe.stderr.strip()}")


def run_side(command, workload, args):
    """One process tree timing one workload; returns its JSON line (median/min seconds among other fields)."""
    result = subprocess.run(command + ["--threads", str(args.threads), "--warmups", str(args.warmups), "--runs", str(args.runs)],
                            capture_output=True, text=True)
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("workload") == workload and "error" not in record:
                return record
    sys.exit(f"{' '.join(command)} gave no result for {workload} (exit {result.returncode}): {result.stderr.strip()[-400:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workload", default=None, help="only the workloads whose name contains this")
    parser.add_argument("--bench", default=DEFAULT_BENCH, help="command that starts SharpSeg.Bench (build A)")
    parser.add_argument("--bench-b", default=None, help="a second SharpSeg.Bench build to compare with instead of PyTorch")
    parser.add_argument("--json", default=None, help="append every measured pair as a JSON line to this file")
    args = parser.parse_args()

    names = [n for n in workload_names() if args.workload is None or args.workload in n]
    if not names:
        sys.exit(f"no workload matches '{args.workload}'")
    a_name, b_name = ("A", "B") if args.bench_b else ("sharpseg", "pytorch")

    def side(which, workload):
        if which == "a":
            return shlex.split(args.bench) + ["model-workload", workload]
        if args.bench_b:
            return shlex.split(args.bench_b) + ["model-workload", workload]
        return [sys.executable, os.path.join(HERE, "bench_models_pytorch.py"), "--child", workload]

    summary = []
    for workload in names:
        ratios, a_times, b_times = [], [], []
        for round_index in range(args.rounds):
            order = ("a", "b") if round_index % 2 == 0 else ("b", "a")
            medians = {}
            for which in order:
                record = run_side(side(which, workload), workload, args)
                medians[which] = record["median_s"]
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps({"round": round_index + 1, "side": a_name if which == "a" else b_name, **record}) + "\n")
            ratio = medians["b"] / medians["a"]
            ratios.append(ratio)
            a_times.append(medians["a"])
            b_times.append(medians["b"])
            print(f"{workload} round {round_index + 1}: {a_name} {medians['a']:.4f} s, {b_name} {medians['b']:.4f} s, "
                  f"ratio {ratio:.2f}x (load {os.getloadavg()[0]:.2f})", flush=True)
        summary.append((workload, statistics.median(a_times), statistics.median(b_times), statistics.median(ratios), min(ratios), max(ratios)))

    print()
    print(f"| workload | {a_name} median s | {b_name} median s | median pair ratio | range |")
    print("|---|---:|---:|---:|---|")
    for workload, a, b, ratio, low, high in summary:
        print(f"| {workload} | {a:.4f} | {b:.4f} | {ratio:.2f}x | {low:.2f}-{high:.2f}x |")


if __name__ == "__main__":
    main()
