#!/usr/bin/env bash
# Packs what the GPU machine (no Java, no network, 64 MiB carried per call) needs to run the GPU tests,
# GpuBench and the Flink-operator benchmark (OperatorDeviceBench, a MiniCluster job) into .gpu/:
#   jre.tar.xz   a jlinked Java 17 runtime, uncompressed modules, xz-packed (about 19 MB)
#   lib.tar.xz   the operator's runtime classpath, each jar re-zipped without compression so xz packs
#                it well; the natives jar stripped to libJCudaDriver (about 28 MB)
#   extra/       the stripped jcuda-natives jar and JUnit's console launcher
#   lib2.tar.xz  only with --state: what the state step adds: RocksDB (natives stripped to linux64), its Flink
#                backend. Without it .gpu (about 51 MB) plus the checkout stays under the tool's 64 MiB carry.
#   classes/     kernels, operator and tests classes and test classes
# Usage: scripts/bench/pack-gpu.sh [--state]
# Then: device run with carry [".gpu"] and `bash .gpu/run.sh tests bench hf op3` (steps: scripts/bench/gpu-run.sh;
# state: StateAtScaleBench, needs --state and a checkout small enough for .gpu with lib2, about 58 MB).
set -euo pipefail
with_state=false
[ "${1:-}" = "--state" ] && with_state=true
root="$(cd "$(dirname "$0")/../.." && pwd)"; cd "$root"
mvn -B -q -pl kernels,flink-mamba-operator,tests -am test-compile
mvn -B -q -pl flink-mamba-operator dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/op-cp.txt
mvn -B -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4
m2="${HOME}/.m2/repository"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
rm -rf .gpu && mkdir -p .gpu/extra "$work/lib"
# runtime jars: those a small local run of the benchmark loads classes from (64 MiB carry limit); its
# last case asks for the GPU so that JCuda's classes load too (without a GPU that case fails: ignored)
cp="flink-mamba-operator/target/test-classes:flink-mamba-operator/target/classes:kernels/target/classes:kernels/target/test-classes:$(cat flink-mamba-operator/target/op-cp.txt)"
java -Xlog:class+load=info:file="$work/cl.log" --add-modules jdk.incubator.vector -cp "$cp" \
  io.flinkmamba.operator.OperatorDeviceBench hidden=16 warmup=0 case=per-event:cpu:1:100:2:0 case=micro-batch:cpu:1:100:2:100 \
  case=micro-batch:gpu:1:100:2:100 >/dev/null 2>&1 || true
grep -q 'jcuda' "$work/cl.log" || { echo "JCuda classes were not loaded by the trace run" >&2; exit 1; }
grep -o 'source: file:[^ ]*\.jar' "$work/cl.log" | sed 's#source: file:##' | sort -u | grep -v -e '-tests\.jar$' -e '^/tmp/' > "$work/jars.txt"
while read -r j; do
  b="$(basename "$j")"; st="$work/st"; rm -rf "$st"; mkdir -p "$st"
  (cd "$st" && unzip -q -o "$j")
  if [[ "$b" == flink-rpc-akka-loader-* ]]; then # its embedded pekko jar: stored too, so xz sees the classes
    inner="$(cd "$st" && ls ./*.jar)"; mkdir "$st/in"
    (cd "$st/in" && unzip -q "../$inner" && rm "../$inner" && zip -q -0 -r -X "../$inner" .); rm -rf "$st/in"
  fi
  (cd "$st" && zip -q -0 -r -X "$work/lib/$b" .)
done < "$work/jars.txt"
(cd "$work" && tar cf - lib | xz -6 -T0 > "$root/.gpu/lib.tar.xz")
rm -rf "$work/st" && mkdir -p "$work/st"
(cd "$work/st" && unzip -q "$m2/org/jcuda/jcuda-natives/12.0.0/jcuda-natives-12.0.0-linux-x86_64.jar" \
  && rm -f lib/libJNvPTXCompiler* lib/libJNvrtc* lib/libJCudaRuntime* && zip -q -r -X "$root/.gpu/extra/jcuda-natives-12.0.0-linux-x86_64.jar" .)
cp "$m2/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar" .gpu/extra/
jlink --add-modules java.base,java.logging,jdk.unsupported,java.management,java.naming,java.xml,java.sql,jdk.management,java.net.http,jdk.crypto.ec,jdk.incubator.vector,jdk.zipfs,java.desktop,java.rmi,java.management.rmi,java.security.jgss,java.instrument,jdk.jfr,java.compiler,java.scripting \
  --strip-debug --no-header-files --no-man-pages --compress=0 --output "$work/jre0"
(cd "$work" && tar cf - jre0 | xz -6 -T0 > "$root/.gpu/jre.tar.xz")
mkdir -p .gpu/classes
cp -r kernels/target/classes .gpu/classes/kernels
# the shipped PTX/cubin travel once, with the checkout (run.sh puts kernels/src/main/resources first on the classpath)
rm -f .gpu/classes/kernels/io/flinkmamba/kernels/gpu/mamba.*
cp -r kernels/target/test-classes .gpu/classes/kernels-test
cp -r flink-mamba-operator/target/classes .gpu/classes/op
cp -r flink-mamba-operator/target/test-classes .gpu/classes/op-test
cp -r tests/target/test-classes .gpu/classes/tests-test
# the state step (StateAtScaleBench on EmbeddedRocksDB): RocksDB's jar holds natives for many platforms
if $with_state; then
rm -rf "$work/st" "$work/lib2" && mkdir -p "$work/st" "$work/lib2"
(cd "$work/st" && unzip -q "$m2/com/ververica/frocksdbjni/8.10.0-ververica-1.0/frocksdbjni-8.10.0-ververica-1.0.jar" \
  && find . -maxdepth 1 \( -name '*.so' -o -name '*.jnilib' -o -name '*.dll' \) ! -name librocksdbjni-linux64.so -delete \
  && zip -q -0 -r -X "$work/lib2/frocksdbjni-8.10.0-ververica-1.0.jar" .)
cp "$m2/org/apache/flink/flink-statebackend-rocksdb/2.2.1/flink-statebackend-rocksdb-2.2.1.jar" \
   "$m2/org/apache/flink/flink-annotations/2.2.1/flink-annotations-2.2.1.jar" "$work/lib2/"
(cd "$work" && tar cf - lib2 | xz -6 -T0 > "$root/.gpu/lib2.tar.xz")
fi
cp scripts/bench/gpu-run.sh .gpu/run.sh
du -sh .gpu
