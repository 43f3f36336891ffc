#!/usr/bin/env bash
# Anomaly-detection quality: a forecaster (default models/general-univariate) vs a rolling z-score and
# Random Cut Forest on labelled generated and real series. Builds what it needs, installs nothing.
# Usage: quality/run-quality-bench.sh [--model DIR] [--keys 20] [--events 3000] [--candidates 200]
#                                     [--real-max-events N] [--out quality/target/quality.md]
set -euo pipefail
cd "$(dirname "$0")/.."
CP_FILE=quality/target/bench.classpath
mvn -B -q -pl quality -am compile dependency:build-classpath -Dmdep.outputFile="$PWD/$CP_FILE"
CP="quality/target/classes:$(cat $CP_FILE)"
exec java --add-modules jdk.incubator.vector -Xmx${BENCH_HEAP:-4g} -cp "$CP" io.flinkmamba.quality.QualityBenchmark "$@"
