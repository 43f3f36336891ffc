#!/usr/bin/env bash
# Keyed operator throughput next to the bare core step, on ONE core (taskset -c 0).
# Usage: flink-mamba-operator/bench/run-operator-bench.sh [keys=1000,100000] [events=200000] [rounds=3] ...
# (arguments: see OperatorBenchmark's javadoc). Builds test classes, does not install anything.
set -euo pipefail
cd "$(dirname "$0")/../.."
CP_FILE=flink-mamba-operator/target/bench.classpath
# one reactor run: kernels resolves to kernels/target/classes; the operator's classpath is written last
mvn -B -q -pl flink-mamba-operator -am test-compile dependency:build-classpath \
  -Dmdep.outputFile="$PWD/$CP_FILE" -Dmdep.includeScope=test
CP="flink-mamba-operator/target/test-classes:flink-mamba-operator/target/classes:$(cat $CP_FILE)"
PIN=""
if command -v taskset >/dev/null; then PIN="taskset -c 0"; fi
exec $PIN java --add-modules jdk.incubator.vector -Xmx${BENCH_HEAP:-8g} -XX:+UseParallelGC \
  -Dlog4j2.configurationFile=flink-mamba-operator/bench/log4j2-bench.properties \
  -cp "$CP" io.flinkmamba.operator.OperatorBenchmark "$@"
