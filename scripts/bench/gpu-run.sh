#!/usr/bin/env bash
# On the GPU machine, from the repo root: unpack the runtime, then run the named steps.
# Steps: tests bench quickbench layers fwd trace scans wgmma half hf ncu sass op op2 op3 state (any order). Outputs in $OUT.
set -u
W=/tmp/fm; mkdir -p $W
[ -x $W/jre0/bin/java ] || (cd $W && tar xJf "$OLDPWD/.gpu/jre.tar.xz" && tar xJf "$OLDPWD/.gpu/lib.tar.xz")
[ ! -f .gpu/lib2.tar.xz ] || [ -d $W/lib2 ] || (cd $W && tar xJf "$OLDPWD/.gpu/lib2.tar.xz")
J="$W/jre0/bin/java --add-modules jdk.incubator.vector -Xmx96g"
CP="kernels/src/main/resources:.gpu/classes/kernels:.gpu/classes/kernels-test:.gpu/classes/op:.gpu/classes/op-test:.gpu/extra/*:$W/lib/*"
nvidia-smi > $OUT/smi.txt 2>&1; lscpu | head -20 > $OUT/lscpu.txt
for step in "$@"; do
  start=$(date +%s)
  case $step in
    tests) timeout 240 $J -cp "$CP" org.junit.platform.console.ConsoleLauncher execute --scan-classpath .gpu/classes/kernels-test \
             --include-package io.flinkmamba.kernels.gpu --details=tree --disable-banner > $OUT/tests.txt 2>&1 ;;
    bench) timeout 420 $J -cp "$CP" io.flinkmamba.kernels.gpu.GpuBench > $OUT/bench.txt 2>&1 ;;
    quickbench) timeout 200 $J -cp "$CP" io.flinkmamba.kernels.gpu.GpuBench quick > $OUT/quickbench.txt 2>&1 ;;
    # every kernel's device time in the chunked forward (GpuBench trace): hidden 256 at the default budget and as one
    # chunk, hidden 64; one archive (the device tool brings back few files)
    trace) mkdir -p /tmp/tr; for a in "256 2 4096 64" "256 2 4096 64 4096" "64 2 100000 64"; do
             timeout 120 $J -cp "$CP" io.flinkmamba.kernels.gpu.GpuBench trace $a > "/tmp/tr/trace-${a// /_}.txt" 2>&1; done
           tar czf $OUT/traces.tgz -C /tmp/tr . ;;
    fwd) timeout 300 $J -cp "$CP" io.flinkmamba.kernels.gpu.GpuBench forward > $OUT/fwd.txt 2>&1 ;;
    layers) timeout 300 $J -cp "$CP" io.flinkmamba.kernels.gpu.GpuBench layers > $OUT/layers.txt 2>&1 ;;
    scans) timeout 200 $J -cp "$CP" io.flinkmamba.kernels.gpu.GpuBench scans > $OUT/scans.txt 2>&1 ;;
    # the wgmma projection prototype (kernels/src/test/cuda/wgmma_proto.cu) against the shipped mma.sync GEMM
    wgmma) timeout 200 $J -cp "$CP" io.flinkmamba.kernels.gpu.WgmmaProtoBench > $OUT/wgmma.txt 2>&1 ;;
    half) timeout 200 $J -cp "$CP" io.flinkmamba.kernels.gpu.HalfSplitProtoBench > $OUT/half.txt 2>&1 ;;
    hf) timeout 400 python3 scripts/bench/hf_bench.py > $OUT/hf.txt 2>&1 ;;
    # Nsight Compute on the 3xTF32 layer's kernels, one launch each (ncu locks clocks at base: read ratios, stalls)
    ncu) timeout 200 /usr/local/cuda/bin/ncu --target-processes all -k regex:"${NCU_KERNELS:-^(gemm_tf32x3|scan_dt_n16|conv_silu_k4)}" -c 16 \
           --section SpeedOfLight --section Occupancy --section WarpStateStats --section SchedulerStats \
           --section InstructionStats --section MemoryWorkloadAnalysis --section LaunchStats --print-details all \
           $J -cp "$CP" io.flinkmamba.kernels.gpu.GpuBench gemmprofile > $OUT/ncu.txt 2>&1 ;;
    # SASS of the shipped cubin's scan and GEMM kernels (for instruction counts; no cuobjdump on the build machine)
    sass) zcat kernels/src/main/resources/io/flinkmamba/kernels/gpu/mamba.sm_90a.cubin.gz > /tmp/mamba.cubin
          for f in scan_n16 scan_dt_n16 scan_dt_n16_r4 scan_staged_n16 scan_dt_staged_n16_r4 gemm_tf32x3_s64; do
            /usr/local/cuda/bin/cuobjdump -sass -fun $f /tmp/mamba.cubin > $OUT/sass-$f.txt 2>&1; done ;;
    op) timeout 400 $J -cp "$CP" io.flinkmamba.operator.OperatorDeviceBench hidden=64 layers=2 \
          case=micro-batch:gpu:1:100000:64:1600000 case=micro-batch:gpu:4:100000:64:400000 \
          case=micro-batch:gpu:1:100000:2:200000 case=micro-batch:cpu:1:100000:2:200000 case=per-event:cpu:1:100000:2:0 \
          case=per-event:cpu:16:100000:16:0 case=micro-batch:cpu:16:100000:16:100000 \
          > $OUT/op.txt 2> $OUT/op-stderr.txt ;;
    state) df -h . /tmp > $OUT/state-disk.txt; free -g >> $OUT/state-disk.txt
           timeout 520 $W/jre0/bin/java --add-modules jdk.incubator.vector -Xmx64g -cp ".gpu/classes/tests-test:$CP:$W/lib2/*" \
             io.flinkmamba.tests.bench.StateAtScaleBench --work $PWD/state-bench --keys 1000000 --seconds 150 --interval 45s \
             --parallelism 8 > $OUT/state.txt 2> $OUT/state-stderr.txt
           du -sh state-bench >> $OUT/state-disk.txt; rm -rf state-bench ;;
    op2) timeout 300 $J -XX:StartFlightRecording=duration=25s,filename=$OUT/op-gpu1.jfr,settings=profile -cp "$CP" io.flinkmamba.operator.OperatorDeviceBench hidden=64 layers=2 \
          source-parallelism=same case=micro-batch:gpu:1:100000:64:1600000 case=micro-batch:gpu:4:100000:64:400000 \
          case=per-event:cpu:16:100000:16:0 case=micro-batch:cpu:16:100000:16:100000 case=micro-batch:gpu:8:100000:64:200000 \
          > $OUT/op2.txt 2> $OUT/op2-stderr.txt ;;
    op3) timeout 300 $J -cp "$CP" io.flinkmamba.operator.OperatorDeviceBench hidden=64 layers=2 source-parallelism=same \
          object-reuse=true case=micro-batch:gpu:1:100000:64:1600000 case=micro-batch:gpu:4:100000:64:400000 \
          case=per-event:cpu:16:100000:16:0 case=micro-batch:cpu:16:100000:16:100000 \
          > $OUT/op3.txt 2> $OUT/op3-stderr.txt ;;
  esac
  echo "$step rc=$? $(( $(date +%s) - start )) s" >> $OUT/steps.txt
done
