#!/usr/bin/env bash
# On the GPU machine (PyTorch + transformers, no network). Trains the three shipped forecasters one
# after the other, writes the float64 fixtures and checks HF loading; results in $OUT:
#   $OUT/models.tar.gz     models/<name>/{config.json,model.safetensors,MODEL.md,results.json}
#   $OUT/fixtures.tar.gz   fixtures/forecaster-<name>/... (reference fixtures), random-f2/
#   $OUT/log.txt           everything printed
# Usage: bash run_on_device.sh [SECONDS_GENERAL SECONDS_SENSOR SECONDS_TRADE [MAX_STEPS]]
# A cap of 0 skips that model. SPIKES=0.5 trains general and sensor with input-spike augmentation.
# OLD=dir-of-models also evaluates those (e.g. the committed ones) in the same run: $OUT/eval-old.json.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${OUT:?OUT must name an output folder}"
CG=${1:-160}; CS=${2:-120}; CT=${3:-100}; MAX=${4:-100000}; SPIKES=${SPIKES:-0}; OLD=${OLD:-}
export PYTHONUNBUFFERED=1 USE_HUB_KERNELS=0 HF_HUB_OFFLINE=1
W=/tmp/fc; rm -rf $W; mkdir -p $W/models $W/fixtures
exec > >(tee -a "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import torch, transformers, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "numpy", numpy.__version__)'
lscpu | grep -E 'Model name|^CPU\(s\)'
date -u
# the random-init fixture model runs on the CPU, beside the GPU training
( OMP_NUM_THREADS=2 python3 "$HERE/train.py" --preset random-f2 --steps 0 --eval-seqs 0 --device cpu --out $W/random-f2 \
  && OMP_NUM_THREADS=2 python3 "$HERE/make_fixtures.py" --model $W/random-f2 --name random-f2 --out $W/fixtures/forecaster-random-f2 ) > $W/random.log 2>&1 &
PR=$!
pack() { (cd $W && tar czf "$OUT/models.tar.gz" models); }
[ "$CG" != 0 ] && python3 "$HERE/train.py" --preset general-univariate --steps "$MAX" --seconds "$CG" --spikes "$SPIKES" --out $W/models/general-univariate 2>&1 | grep -v "falling back"
pack
[ "$CS" != 0 ] && python3 "$HERE/train.py" --preset sensor-multivariate --steps "$MAX" --seconds "$CS" --spikes "$SPIKES" --out $W/models/sensor-multivariate 2>&1 | grep -v "falling back"
pack
[ "$CT" != 0 ] && python3 "$HERE/train.py" --preset trade --steps "$MAX" --seconds "$CT" --out $W/models/trade 2>&1 | grep -v "falling back"
pack
python3 "$HERE/evaluate.py" --out "$OUT/eval.json" $W/models/* 2>&1 | grep -v "falling back"
[ -n "$OLD" ] && python3 "$HERE/evaluate.py" --out "$OUT/eval-old.json" $OLD/* 2>&1 | grep -v "falling back"
date -u
wait $PR; echo "random-f2 rc=$?"; grep -v "falling back" $W/random.log | tail -30
python3 "$HERE/check_hf_load.py" $W/models/* $W/random-f2 2>&1 | grep '^{'
if [ -f $W/models/general-univariate/model.safetensors ]; then
  python3 "$HERE/make_fixtures.py" --model $W/models/general-univariate --name general-univariate \
    --out $W/fixtures/forecaster-general-univariate 2>&1 | grep -v "falling back" | tail -25
fi
(cd $W && tar czf "$OUT/fixtures.tar.gz" fixtures random-f2)
ls -la $W/models/* $OUT
date -u
