#!/usr/bin/env bash
# Spark's GPU discovery script for Nightshift executors: prints the GPUs of this machine as Spark's resource JSON,
# {"name": "gpu", "addresses": ["0", "1", ...]}, with CUDA device indices as addresses (Nightshift's engine opens the
# device its task was assigned: TaskGpu). Named by spark.executor.resource.gpu.discoveryScript (spark-defaults.conf
# in this folder); it must be executable and present on every worker.
#
# NIGHTSHIFT_GPUS="0,1" overrides the query (tests, or GPUs hidden from nvidia-smi).
set -euo pipefail
if [[ -n "${NIGHTSHIFT_GPUS:-}" ]]; then
  indices="${NIGHTSHIFT_GPUS//,/ }"
elif command -v nvidia-smi >/dev/null 2>&1; then
  indices="$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | tr '\n' ' ')"
else
  echo "getGpusResources.sh: nvidia-smi is not on the PATH; install the NVIDIA driver or set NIGHTSHIFT_GPUS" >&2
  exit 1
fi
addresses=""
for index in $indices; do
  addresses="${addresses:+$addresses, }\"$index\""
done
echo "{\"name\": \"gpu\", \"addresses\": [$addresses]}"
