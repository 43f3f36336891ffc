#!/usr/bin/env bash
# Keyed Mamba state at scale on EmbeddedRocksDB with incremental checkpoints (see StateAtScaleBench).
#   tests/bench/run-state-bench.sh --keys 1000000 --seconds 300 --interval 60s
#   tests/bench/run-state-bench.sh --keys 100000 --seconds 120 --interval 20s --ttl 30s --active-fraction 0.1
# Needs free disk of about 2 x keys x 20 KB (RocksDB working copy + checkpoint). Output: stdout and
# tests/target/state-bench/report.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mvn -B -q -pl tests -am package -DskipTests dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
mkdir -p tests/target/state-bench-report
java --add-modules jdk.incubator.vector -Xmx4g ${STATE_BENCH_JVM_OPTS:-} \
  -cp "tests/target/test-classes:$(cat tests/target/test-classpath.txt)" \
  io.flinkmamba.tests.bench.StateAtScaleBench --work tests/target/state-bench "$@" 2>tests/target/state-bench-report/stderr.log \
  | grep -v 'Using incubator modules' | tee tests/target/state-bench-report/report.txt
