#!/usr/bin/env python3
"""Latency of `newsvault near` from the command line (process start and archive open
included), as a user or a script calls it: SAMPLE random articles of ARCHIVE, each asked
once after a warm-up; prints the median and the 99th percentile.
Usage: scripts/near-latency.py ARCHIVE [SAMPLE]   (build with `cargo build --release` first)"""
import json, os, random, statistics, subprocess, sys, time

def main():
    archive = sys.argv[1]
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    binary = os.path.join(os.path.dirname(__file__), "..", "target", "release", "newsvault")
    listing = subprocess.run([binary, "--archive", archive, "list", "--json"], check=True,
                             capture_output=True, text=True).stdout.splitlines()
    refs = [json.loads(line)["id"] for line in random.Random(7).sample(listing, min(sample, len(listing)))]
    subprocess.run([binary, "--archive", archive, "near", refs[0]], check=True, capture_output=True)
    times = []
    for ref in refs:
        start = time.perf_counter()
        subprocess.run([binary, "--archive", archive, "near", ref], check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(f"{archive}: {len(times)} articles, near median {statistics.median(times):.1f} ms, "
          f"p99 {p99:.1f} ms, max {times[-1]:.1f} ms")

if __name__ == "__main__":
    main()
