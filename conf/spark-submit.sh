#!/usr/bin/env bash
# Submits a Nightshift job to a Spark 4.2 cluster:
#   conf/spark-submit.sh conf/nightly-example.yaml [--retry-failed] [--dry-run] [-- extra spark-submit options]
#
# Needs SPARK_HOME (Spark 4.2, Scala 2.13) and the application jar jobs/target/nightshift-jobs-*-spark.jar (this
# script builds it when missing: mvn -DskipTests package). That one jar carries Nightshift and everything a stock Spark
# lacks (Delta, ONNX Runtime, DJL tokenizers, ...), so the cluster needs no network and no --packages. Spark's settings
# come from conf/spark-defaults.conf. The JVM command lines stay short: ONNX Runtime 1.29 crashes (SIGSEGV) creating
# its environment when a JVM's command line is longer than about 4 KB, so no long -cp or --jars list is ever passed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
config="$1"; shift
job_args=()
while [[ $# -gt 0 && "$1" != "--" ]]; do job_args+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
if [[ -z "${SPARK_HOME:-}" || ! -x "$SPARK_HOME/bin/spark-submit" ]]; then
  echo "spark-submit.sh: set SPARK_HOME to a Spark 4.2 installation (bin/spark-submit not found)" >&2
  exit 2
fi
if [[ ! -f "$config" ]]; then
  echo "spark-submit.sh: config file $config not found" >&2
  exit 2
fi

app_jar="$(ls "$root"/jobs/target/nightshift-jobs-*-spark.jar 2>/dev/null | head -1 || true)"
flags_file="$root/jobs/target/classes/nightshift-jvm.flags"
if [[ -z "$app_jar" || ! -f "$flags_file" ]]; then
  echo "spark-submit.sh: building the application jar (mvn -DskipTests package)..." >&2
  (cd "$root" && mvn -B -q -DskipTests package) >&2
  app_jar="$(ls "$root"/jobs/target/nightshift-jobs-*-spark.jar | head -1)"
fi

# The module flags Spark 4.2 itself adds, repeated for executors launched by older cluster managers.
flags="$(sed 's/--add-modules=jdk.incubator.vector//' "$flags_file" | tr -s ' ')"
properties="$(mktemp "${TMPDIR:-/tmp}/nightshift-spark.XXXXXX.conf")"
trap 'rm -f "$properties"' EXIT
{
  cat "$root/conf/spark-defaults.conf"
  echo "spark.driver.extraJavaOptions $flags"
  echo "spark.executor.extraJavaOptions $flags"
} > "$properties"

"$SPARK_HOME/bin/spark-submit" --properties-file "$properties" \
  --class dev.nightshift.jobs.cli.NightshiftCli "$@" \
  "$app_jar" run --config "$config" "${job_args[@]+"${job_args[@]}"}"
