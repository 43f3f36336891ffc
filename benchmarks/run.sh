#!/usr/bin/env bash
# CPU core benchmarks (JMH): step events/s and allocation, scalar loop, FMA peak, parallel tokens/s,
# state sizes. Short by default (about 3 minutes); --full measures longer over 3 interleaved rounds.
# Usage: benchmarks/run.sh [--full] [--rounds N] [--forks N] [--include REGEX]
# (--forks 0: all benchmarks in one warm JVM; what docs/benchmarks.md used on the loaded build machine)
# Prints the results and saves them (with lscpu) under benchmarks/results/. Builds with Maven, installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then # BENCH_SKIP_BUILD=1: run the jar already built
  mvn -B -q -o -pl benchmarks -am package -Dmaven.test.skip=true 2>/dev/null \
    || mvn -B -q -pl benchmarks -am package -Dmaven.test.skip=true
fi
mkdir -p benchmarks/results
OUT="benchmarks/results/cpu-$(date -u +%Y%m%dT%H%M%SZ).txt"
PIN=""
# Every benchmark runs on one thread; BENCH_CPU=N pins the JVMs (and so the JIT threads) to core N.
if [ -n "${BENCH_CPU:-}" ] && command -v taskset >/dev/null; then PIN="taskset -c $BENCH_CPU"; fi
{
  echo "# benchmarks/run.sh $* ($(date -u))"
  lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Core|Socket|MHz|L1d|L2|L3|Flags' | sed 's/^/# /' | cut -c1-200
  echo "# load average: $(cat /proc/loadavg 2>/dev/null || echo '?')"
  $PIN java --add-modules jdk.incubator.vector -Xmx2g -XX:+UseParallelGC -jar benchmarks/target/benchmarks.jar "$@"
} 2>&1 | tee "$OUT"
echo "saved: $OUT"
