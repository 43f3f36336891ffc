#!/usr/bin/env bash
# Demo: runs shipped Hugging Face Mamba checkpoints through flink-mamba's Java core in both modes
# (recurrent: one event at a time; parallel: whole windows) and checks each against the float64
# output PyTorch gave for the same inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/flink-mamba-demo"
mkdir -p "$out"
status=0
for fixture in long bf16 backbone-prefix; do
  dir=kernels/src/test/resources/fixtures/$fixture
  for mode in recurrent parallel; do
    echo "== $fixture ($mode)"
    bin/flink-mamba forward --model "$dir" --input "$dir/inputs_embeds.npy" --output "$out/$fixture-$mode.npy" \
      --mode "$mode" --expect "$dir/last_hidden_state.npy" || status=1
  done
done
[[ $status == 0 ]] && echo "demo: every output matches Hugging Face within 1e-5 relative L2" || echo "demo: MISMATCH (see above)"
exit $status
