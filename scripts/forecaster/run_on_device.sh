#!/usr/bin/env bash
# On the GPU machine (PyTorch + transformers, no network). Trains the three shipped forecasters in
# parallel on the one GPU, then writes the float64 fixtures and checks HF loading; results in $OUT:
#   $OUT/models.tar.gz     models/<name>/{config.json,model.safetensors,MODEL.md,results.json}
#   $OUT/fixtures.tar.gz   forecaster-<name>/... (reference fixtures)
#   $OUT/log.txt           everything printed
# Usage: bash run_on_device.sh [STEPS_GENERAL STEPS_SENSOR STEPS_TRADE [SECONDS_CAP]]
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${OUT:?OUT must name an output folder}"
SG=${1:-3000}; SS=${2:-3000}; ST=${3:-3000}; CAP=${4:-360}
export PYTHONUNBUFFERED=1 USE_HUB_KERNELS=0 HF_HUB_OFFLINE=1 OMP_NUM_THREADS=4
W=/tmp/fc; rm -rf $W; mkdir -p $W/models $W/fixtures
exec > >(tee -a "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import torch, transformers, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "numpy", numpy.__version__)'
lscpu | grep -E 'Model name|^CPU\(s\)'
date -u
python3 "$HERE/train.py" --preset general-univariate --steps "$SG" --seconds "$CAP" --out $W/models/general-univariate > $W/general.log 2>&1 &
P1=$!
python3 "$HERE/train.py" --preset sensor-multivariate --steps "$SS" --seconds "$CAP" --out $W/models/sensor-multivariate > $W/sensor.log 2>&1 &
P2=$!
python3 "$HERE/train.py" --preset trade --steps "$ST" --seconds "$CAP" --out $W/models/trade > $W/trade.log 2>&1 &
P3=$!
python3 "$HERE/train.py" --preset random-f2 --steps 0 --eval-seqs 0 --device cpu --out $W/random-f2 > $W/random.log 2>&1
cat $W/random.log
python3 "$HERE/make_fixtures.py" --model $W/random-f2 --name random-f2 --out $W/fixtures/forecaster-random-f2 | tail -20
wait $P1; echo "general rc=$?"; wait $P2; echo "sensor rc=$?"; wait $P3; echo "trade rc=$?"
for f in general sensor trade; do echo "== $f"; cat $W/$f.log; done
date -u
(cd $W && tar czf "$OUT/models.tar.gz" models)
python3 "$HERE/check_hf_load.py" $W/models/* $W/random-f2
if [ -f $W/models/general-univariate/model.safetensors ]; then
  python3 "$HERE/make_fixtures.py" --model $W/models/general-univariate --name general-univariate \
    --out $W/fixtures/forecaster-general-univariate | tail -20
fi
(cd $W && tar czf "$OUT/fixtures.tar.gz" fixtures random-f2)
ls -la $W/models/* $OUT
date -u
