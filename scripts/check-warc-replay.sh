#!/usr/bin/env bash
# Checks that newsvault's WARC export is readable by warcio and replayable by pywb.
#
#   scripts/check-warc-replay.sh NEWSVAULT_BIN ARCHIVE [PORT]
#
# If ARCHIVE does not exist it is built first: tests/fixtures/mixed plus the first
# $SLICE_LINES (default 200) lines of newsdiffs-se/versions.jsonl.gz from
# $NEWSVAULT_CORPUS (default ../shared/corpus relative to the repository).
# The archive is then exported as .warc.gz, .warc and .jsonl into a temporary directory;
# `warcio check` runs on both WARCs, the response records are counted against the
# exported versions, and every response record (at most $REPLAY_LIMIT, default 200) is
# fetched from a pywb `wayback` server on PORT (default 8089), raw (`id_`) and as the
# replay page, and compared byte for byte with the record's payload and with the body in
# the JSON Lines export.
#
# Python tools come from the venv $PYWB_VENV (default /tmp/pywb-venv), created with
# `pip install pywb warcio` when missing. Exit 0 on PASS, 1 on FAIL, 2 on usage error.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 NEWSVAULT_BIN ARCHIVE [PORT]" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
nv=$(realpath "$1")
archive=$(realpath -m "$2")
port=${3:-8089}
corpus=${NEWSVAULT_CORPUS:-$repo/../shared/corpus}
slice_lines=${SLICE_LINES:-200}
replay_limit=${REPLAY_LIMIT:-200}
venv=${PYWB_VENV:-/tmp/pywb-venv}

[[ -x $nv ]] || { echo "not an executable: $nv" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/check-warc-replay.XXXXXX")
wayback_pid=""
cleanup() {
    if [[ -n $wayback_pid ]] && kill -0 "$wayback_pid" 2>/dev/null; then
        kill "$wayback_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$wayback_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$wayback_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

failures=()
fail() { failures+=("$1"); echo "FAIL: $1"; }

# 1. Python tools.
if [[ ! -x $venv/bin/wayback || ! -x $venv/bin/warcio ]]; then
    echo "== creating $venv (pip install pywb warcio)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q pywb warcio
fi
py=$venv/bin/python
echo "== $("$venv/bin/pip" list 2>/dev/null | grep -Ei '^(pywb|warcio) ' | tr -s ' ' | paste -sd, -)"

# 2. The archive.
if [[ ! -e $archive ]]; then
    echo "== building $archive"
    inputs=("$repo/tests/fixtures/mixed")
    corpus_file=$corpus/newsdiffs-se/versions.jsonl.gz
    if [[ -r $corpus_file ]]; then
        { gzip -dc "$corpus_file" || true; } | head -n "$slice_lines" >"$work/slice.jsonl"
        inputs+=("$work/slice.jsonl")
    else
        echo "note: no corpus at $corpus_file; fixtures only"
    fi
    set +e
    "$nv" --archive "$archive" --color never ingest "${inputs[@]}" 2>"$work/ingest.err"
    rc=$?
    set -e
    # Exit 1 is "some inputs were rejected" (the fixtures include bad records on purpose).
    if [[ $rc -gt 1 ]]; then cat "$work/ingest.err" >&2; echo "ingest failed ($rc)" >&2; exit 1; fi
    echo "   ($(grep -c rejected "$work/ingest.err" || true) inputs rejected)"
fi

# 3. Export.
out=$work/out
mkdir -p "$out"
"$nv" --archive "$archive" export --no-progress --format warc -o "$out/out.warc.gz"
"$nv" --archive "$archive" export --no-progress --format warc -o "$out/out.warc"
"$nv" --archive "$archive" export --no-progress --format jsonl -o "$out/out.jsonl"
versions=$(wc -l <"$out/out.jsonl")
echo "== exported $versions versions"

# 4. warcio.
for f in out.warc.gz out.warc; do
    if "$venv/bin/warcio" check -v "$out/$f" >"$work/check-$f.log" 2>&1; then
        echo "warcio check $f: ok ($(grep -c 'digest pass' "$work/check-$f.log" || true) digests pass)"
    else
        fail "warcio check $f: $(grep -c 'digest failed' "$work/check-$f.log" || true) digest failures"
        grep -B1 -E 'failed|Error|error' "$work/check-$f.log" | head -20 | sed 's/^/    /'
    fi
    # One response record per version (a resource record is accepted too, e.g. for a
    # version without an http(s) URL).
    n=$("$venv/bin/warcio" index -f warc-type "$out/$f" | grep -cE '"(response|resource)"' || true)
    if [[ $n -eq $versions ]]; then
        echo "warcio index $f: $n response/resource records"
    else
        fail "warcio index $f: $n response/resource records for $versions exported versions"
    fi
done

# 5. pywb.
wb=$work/wb
mkdir -p "$wb"
(cd "$wb" && "$venv/bin/wb-manager" init coll >/dev/null 2>&1 && "$venv/bin/wb-manager" add coll "$out/out.warc.gz" >/dev/null 2>&1)
cdx=$(cat "$wb"/collections/coll/indexes/*.cdxj | wc -l)
echo "== pywb indexed $cdx CDX lines"
[[ $cdx -eq $versions ]] || fail "pywb indexed $cdx records for $versions exported versions"
(cd "$wb" && exec "$venv/bin/wayback" -p "$port" >"$work/wayback.log" 2>&1) &
wayback_pid=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://localhost:$port/" && break
    kill -0 "$wayback_pid" 2>/dev/null || break
    sleep 0.2
done
curl -s -o /dev/null "http://localhost:$port/" || { cat "$work/wayback.log"; echo "wayback did not start on port $port" >&2; exit 1; }

set +e
"$py" - "$out/out.warc.gz" "$out/out.jsonl" "http://localhost:$port/coll" "$replay_limit" <<'EOF'
import html, json, re, sys, urllib.error, urllib.parse, urllib.request
from warcio.archiveiterator import ArchiveIterator

warc, jsonl, base, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
bodies = {}
for line in open(jsonl, encoding="utf-8"):
    row = json.loads(line)
    uri = row.get("url") or "urn:newsvault:article:" + row["article"]
    bodies.setdefault((uri, row["captured_at"]), []).append(row["body"])

records = []
with open(warc, "rb") as f:
    for r in ArchiveIterator(f):
        if r.rec_type not in ("response", "resource"):
            continue
        h = r.rec_headers
        if r.rec_type == "resource":
            ctype = h.get_header("Content-Type")
        else:
            ctype = r.http_headers.get_header("Content-Type") if r.http_headers else None
        records.append((h.get_header("WARC-Target-URI"), h.get_header("WARC-Date"), ctype,
                        r.content_stream().read()))
seen = {}
for uri, date, _, _ in records:
    key = (uri, re.sub(r"\D", "", date)[:14])
    seen[key] = seen.get(key, 0) + 1

def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()

tried = raw_ok = page_ok = text_ok = skipped = 0
problems = []
for uri, date, ctype, payload in records[:limit]:
    ts = re.sub(r"\D", "", date)[:14]
    if seen[(uri, ts)] > 1:
        skipped += 1
        problems.append(f"{uri} {ts}: {seen[(uri, ts)]} records share this URL and second; not checked")
        continue
    tried += 1
    quoted = urllib.parse.quote(uri, safe=":/?&=%;,+@!$'()*~")
    status, got_type, got = get(f"{base}/{ts}id_/{quoted}")
    if ctype is None:
        problems.append(f"{uri} {ts}: warcio parsed no HTTP header block (it does so only for http:/https: "
                        f"WARC-Target-URI), so the payload is the whole block and pywb replays it as {got_type!r}")
    elif status == 200 and got == payload and (got_type or "").startswith("text/html"):
        raw_ok += 1
    else:
        problems.append(f"{uri} {ts}: id_ replay HTTP {status}, {len(got)} bytes ({got_type}); "
                        f"record payload {len(payload)} bytes ({ctype}); first bytes {got[:40]!r}")
    paras = [html.unescape(p) for p in re.findall(rb"<p>(.*?)</p>", got, re.S) for p in [p.decode("utf-8", "replace")]]
    want = bodies.get((uri, date), [])
    if "\n".join(paras) in want:
        text_ok += 1
    else:
        problems.append(f"{uri} {ts}: replayed paragraphs do not equal the body in the jsonl export")
    status, _, _ = get(f"{base}/{ts}/{quoted}")
    if status == 200:
        page_ok += 1
    else:
        problems.append(f"{uri} {ts}: replay page HTTP {status}")

for p in problems[:30]:
    print("   ", p)
if len(problems) > 30:
    print(f"    ... and {len(problems) - 30} more")
print(f"replayed {tried} of {len(records)} response/resource records (skipped {skipped}): "
      f"{raw_ok} id_ byte-identical to the WARC payload, {text_ok} with the exported body, "
      f"{page_ok} replay pages HTTP 200")
sys.exit(0 if raw_ok == text_ok == page_ok == tried and skipped == 0 else 1)
EOF
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "pywb replay"
# The log minus its access lines (whose URLs may contain anything).
grep -vE '^[0-9.:a-f]+ - - \[' "$work/wayback.log" | grep -vE 'INFO|unchanged|config\.yaml' >"$work/wayback.errors" || true
if [[ -s $work/wayback.errors ]]; then
    echo "== wayback log (not access lines)"
    head -40 "$work/wayback.errors" | sed 's/^/    /'
fi

echo
if [[ ${#failures[@]} -eq 0 ]]; then
    echo "PASS: $versions versions exported; warcio check ok on .warc.gz and .warc; all replayed from pywb"
    exit 0
else
    echo "FAIL: ${#failures[@]} problem(s) ($versions versions exported):"
    printf '  - %s\n' "${failures[@]}"
    exit 1
fi
