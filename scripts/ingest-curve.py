#!/usr/bin/env python3
"""The per-record cost of one ingest along its input: how the cost of a record grows
with the archive it goes into, inside a single run (no start-up counted twice).

usage: scripts/ingest-curve.py NEWSVAULT ARCHIVE INPUT.jsonl [WINDOW ...]

Runs `NEWSVAULT --archive ARCHIVE ingest --compact never INPUT.jsonl` (ARCHIVE must not
exist; the compaction a large ingest ends with is left to `newsvault compact`), samples
the input file's read position from /proc/PID/fdinfo every 50 ms, and maps positions to
record numbers through the input's line offsets. A WINDOW is FIRST:LAST (record
numbers, 1-based); each gets its microseconds per record, both wall-clock and CPU
(user + system over all the ingest's threads, from /proc/PID/stat: steadier than
wall-clock on a shared machine). Default: every 50,000 records.
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
    # Without the compaction an ingest this large ends with: it comes after the input
    # is read, so no window could be charged with it (time it with `compact`).
    child = subprocess.Popen([binary, '--archive', archive, 'ingest', '--no-progress', '--compact', 'never', path],
                             stdout=subprocess.DEVNULL)
    ticks_per_second = os.sysconf('SC_CLK_TCK')
    samples, cpu, fd, peak = [(0.0, 0)], [0.0], None, 0
    while child.poll() is None:
        try:
            if fd is None:
                for name in os.listdir(f'/proc/{child.pid}/fd'):
                    if os.path.realpath(f'/proc/{child.pid}/fd/{name}') == real:
                        fd = name
            if fd is not None:
                with open(f'/proc/{child.pid}/fdinfo/{fd}') as info:
                    pos = int(info.readline().split()[1])
                with open(f'/proc/{child.pid}/stat') as stat:
                    # Fields after the parenthesised name; utime and stime are 14 and 15.
                    fields = stat.read().rsplit(')', 1)[1].split()
                    used = (int(fields[11]) + int(fields[12])) / ticks_per_second
                samples.append((time.perf_counter() - started, pos))
                cpu.append(used)
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
    cpu.append(cpu[-1])
    times, positions = [t for t, _ in samples], [p for _, p in samples]

    def at_record(record, clock):
        # Where `clock` stood when the reader had passed this record's end.
        target = ends[record - 1]
        i = bisect.bisect_left(positions, target)
        if i == 0:
            return clock[0]
        (c0, p0), (c1, p1) = (clock[i - 1], positions[i - 1]), (clock[i], positions[i])
        return c0 if p1 == p0 else c0 + (c1 - c0) * (target - p0) / (p1 - p0)

    print(f'{n} records in {total:.1f} s ({n / total:,.0f} records/s), {len(samples)} samples, '
          f'peak memory {peak / 1e9:.2f} GB (sampled)')
    for first, last in windows:
        before = first - 1 if first > 1 else 1
        seconds = at_record(last, times) - at_record(before, times)
        cpu_seconds = at_record(last, cpu) - at_record(before, cpu)
        count = last - first + 1
        print(f'records {first:,} to {last:,}: {seconds:.2f} s, {seconds * 1e6 / count:.1f} µs a record; '
              f'CPU {cpu_seconds:.2f} s, {cpu_seconds * 1e6 / count:.1f} µs a record')

main()
