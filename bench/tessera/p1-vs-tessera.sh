#!/bin/sh
# p1-vs-tessera.sh: BENCHMARKS.md P1 side by side with Tessera's POSIX log, in one run
# on the same machine (issue 21). Runs creditx's P1 command and this module's Tessera
# bench ROUNDS times, alternating, and prints each figure, the load average around each
# run and the ratio creditx / Tessera per round and overall (median of rounds).
#
#   ./p1-vs-tessera.sh [ROUNDS] [extra creditx bench ingest flags...]
#
# Both sides: 30000 records of ~1 KiB with an Ed25519 signature verified before the
# append, 16 in flight x 50 records, every acknowledgement after a signed checkpoint
# covers the record. PRESIGN=1 signs every record before the clock starts on both sides
# (the log's figure alone); by default both sign while earlier batches are in flight.
# ANTISPAM=1 gives Tessera its persistent deduplication (posix/antispam), as creditx
# deduplicates every record (idempotent resubmission); off by default, as in issue 21.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-3}
[ $# -gt 0 ] && shift
N=${N:-30000}
C=${C:-16}
B=${B:-50}
ps=""
[ "${PRESIGN:-0}" = 1 ] && ps="-presign"
as=""
[ "${ANTISPAM:-0}" = 1 ] && as="-antispam"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$root" && go build -o "$bin/creditx" ./cmd/creditx)
(cd "$here" && go build -o "$bin/tessera-bench" .)
cx_all=""
ts_all=""
i=1
while [ "$i" -le "$rounds" ]; do
	l1=$(cut -d' ' -f1-3 /proc/loadavg)
	"$bin/creditx" bench ingest --local 1 --n "$N" --concurrency "$C" --batch "$B" ${ps:+--presign} "$@" >"$bin/cx.out" 2>/dev/null
	l2=$(cut -d' ' -f1-3 /proc/loadavg)
	"$bin/tessera-bench" -n "$N" -concurrency "$C" -batch "$B" $ps $as >"$bin/ts.out" 2>/dev/null
	l3=$(cut -d' ' -f1-3 /proc/loadavg)
	cx=$(sed -n 's/^throughput: \([0-9]*\) records\/s/\1/p' "$bin/cx.out")
	ts=$(sed -n 's/^throughput: \([0-9]*\) records\/s/\1/p' "$bin/ts.out")
	cxc=$(sed -n 's/^cpu: .*, \([0-9]*\) us per record.*/\1/p' "$bin/cx.out")
	tsc=$(sed -n 's/^cpu: .*, \([0-9]*\) us per record.*/\1/p' "$bin/ts.out")
	echo "round $i: creditx $cx records/s, $cxc CPU-us/record (load $l1 -> $l2); tessera $ts records/s, $tsc CPU-us/record (-> $l3); ratio $(echo "scale=2; $cx / $ts" | bc)"
	cx_all="$cx_all $cx"
	ts_all="$ts_all $ts"
	i=$((i + 1))
done
med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cxm=$(med $cx_all)
tsm=$(med $ts_all)
echo "median: creditx $cxm records/s, tessera $tsm records/s, ratio $(echo "scale=2; $cxm / $tsm" | bc) (target >= 1.5; creditx target >= 20000)"
