#!/usr/bin/env bash
# Submits a Nightshift job to YARN, Kubernetes or a standalone Spark master, through conf/spark-submit.sh:
#   conf/submit/nightshift-submit.sh yarn CONFIG [--retry-failed]
#   conf/submit/nightshift-submit.sh k8s://https://HOST:443 CONFIG [--retry-failed]
#   conf/submit/nightshift-submit.sh spark://HOST:7077 CONFIG [--retry-failed]
#
# Needs SPARK_HOME (Spark 4.2). Kubernetes also needs NIGHTSHIFT_IMAGE (an image with Spark, Java 17 and the model
# folder at the config's model.path). Extra spark-submit options go in SPARK_SUBMIT_EXTRA (split on spaces).
# The driver runs in client mode, so the job's exit code (0 done, 1 too many failures, 2 bad config) is this
# script's exit code, which cron and workflow schedulers read. Not yet run against a real cluster.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -lt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
master="$1"; config="$2"; shift 2

options=(--master "$master" --deploy-mode client)
case "$master" in
  yarn)
    options+=(--conf spark.yarn.maxAppAttempts=1) ;;
  k8s://*)
    if [[ -z "${NIGHTSHIFT_IMAGE:-}" ]]; then
      echo "nightshift-submit.sh: set NIGHTSHIFT_IMAGE to the executors' container image for $master" >&2
      exit 2
    fi
    options+=(--conf "spark.kubernetes.container.image=$NIGHTSHIFT_IMAGE"
              --conf spark.kubernetes.executor.podNamePrefix=nightshift) ;;
  spark://*)
    ;;
  *)
    echo "nightshift-submit.sh: unknown master '$master'; use yarn, k8s://https://HOST:PORT or spark://HOST:PORT" >&2
    exit 2 ;;
esac
# shellcheck disable=SC2206
extra=(${SPARK_SUBMIT_EXTRA:-})

exec "$here/../spark-submit.sh" "$config" "$@" -- "${options[@]}" "${extra[@]+"${extra[@]}"}"
