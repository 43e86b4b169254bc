#!/usr/bin/env python3
"""The per-record cost of one ingest along its input: how the cost of a record grows
with the archive it goes into, inside a single run (no start-up counted twice).

usage: scripts/ingest-curve.py NEWSVAULT ARCHIVE INPUT.jsonl [WINDOW ...]

Runs `NEWSVAULT --archive ARCHIVE ingest INPUT.jsonl` (ARCHIVE must not exist), samples
the input file's read position from /proc/PID/fdinfo every 50 ms, and maps positions to
record numbers through the input's line offsets. A WINDOW is FIRST:LAST (record
numbers, 1-based); each gets its microseconds per record. Default: every 50,000
records.
"""
import os, subprocess, sys, time, bisect

def line_ends(path):
    ends, at = [], 0
    with open(path, 'rb') as f:
        while chunk := f.read(1 << 24):
            start = 0
            while (i := chunk.find(b'\n', start)) >= 0:
                ends.append(at + i + 1)
                start = i + 1
            at += len(chunk)
    if not ends or ends[-1] != at:
        ends.append(at)
    return ends

def main():
    binary, archive, path = sys.argv[1:4]
    ends = line_ends(path)
    n = len(ends)
    windows = [tuple(map(int, w.split(':'))) for w in sys.argv[4:]] or [
        (first, min(first + 49_999, n)) for first in range(1, n + 1, 50_000)]
    real = os.path.realpath(path)
    started = time.perf_counter()
    child = subprocess.Popen([binary, '--archive', archive, 'ingest', '--no-progress', path],
                             stdout=subprocess.DEVNULL)
    samples, fd, peak = [(0.0, 0)], None, 0
    while child.poll() is None:
        try:
            if fd is None:
                for name in os.listdir(f'/proc/{child.pid}/fd'):
                    if os.path.realpath(f'/proc/{child.pid}/fd/{name}') == real:
                        fd = name
            if fd is not None:
                with open(f'/proc/{child.pid}/fdinfo/{fd}') as info:
                    pos = int(info.readline().split()[1])
                samples.append((time.perf_counter() - started, pos))
            with open(f'/proc/{child.pid}/status') as status:
                for line in status:
                    if line.startswith('VmHWM:'):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.05)
    total = time.perf_counter() - started
    if child.returncode not in (0, 1):
        sys.exit(f'ingest failed with {child.returncode}')
    samples.append((total, ends[-1]))
    times, positions = [t for t, _ in samples], [p for _, p in samples]

    def time_at_record(record):
        # The moment the reader had passed this record's end.
        target = ends[record - 1]
        i = bisect.bisect_left(positions, target)
        if i == 0:
            return times[0]
        (t0, p0), (t1, p1) = samples[i - 1], samples[i]
        return t0 if p1 == p0 else t0 + (t1 - t0) * (target - p0) / (p1 - p0)

    print(f'{n} records in {total:.1f} s ({n / total:,.0f} records/s), {len(samples)} samples, '
          f'peak memory {peak / 1e9:.2f} GB (sampled)')
    for first, last in windows:
        seconds = time_at_record(last) - time_at_record(first - 1 if first > 1 else 1)
        print(f'records {first:,} to {last:,}: {seconds:.2f} s, {seconds * 1e6 / (last - first + 1):.1f} µs a record')

main()
