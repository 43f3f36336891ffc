#!/usr/bin/env bash
# The flink-mamba demo, on a machine with only Java 17 and Maven: builds, starts a real local Kafka
# broker, runs the sensor anomaly job on a local Flink MiniCluster (web UI URL printed), feeds it a
# labelled generator of many sensors with progress lines, stops by itself after --duration, reads the
# scores back (read_committed) and writes target/demo-report/index.html with plots and
# precision/recall against the labels.
#
#   ./demo.sh [--duration 60s] [--bootstrap host:port] [--keys 32] [--rate 500] [--mode per-event|micro-batch]
#             [--model DIR] [--threshold 0.999] [--out target/demo-report]
#   ./demo.sh conformance     # the forward-conformance demo: shipped HF checkpoints vs PyTorch's outputs
set -euo pipefail
cd "$(dirname "$0")"
if [[ "${1:-}" == conformance ]]; then
  shift
  exec scripts/conformance-demo.sh "$@"
fi
exec bin/flink-mamba demo "$@"
