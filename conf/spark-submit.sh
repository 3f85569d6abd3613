#!/usr/bin/env bash
# Submits a Nightshift job to a Spark 4.2 cluster:
#   conf/spark-submit.sh conf/nightly-example.yaml [--retry-failed] [--dry-run] [-- extra spark-submit options]
#
# Needs SPARK_HOME (Spark 4.2, Scala 2.13) and a built project (this script builds it when needed).
# Nightshift's own jars and the libraries Spark lacks (Delta, ONNX Runtime, DJL tokenizers, ...) travel as spark.jars
# in a generated properties file, together with conf/spark-defaults.conf. The JVM command lines stay short: ONNX
# Runtime 1.29 crashes (SIGSEGV) creating its environment when a JVM's command line is longer than about 4 KB, so no
# long -cp or --jars list is ever passed on a command line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
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

classpath_file="$root/jobs/target/classpath.txt"
jobs_jar="$(ls "$root"/jobs/target/nightshift-jobs-*.jar 2>/dev/null | grep -v -- '-tests.jar' | head -1 || true)"
if [[ ! -f "$classpath_file" || -z "$jobs_jar" ]]; then
  echo "spark-submit.sh: building the project (mvn -DskipTests package)..." >&2
  (cd "$root" && mvn -B -q -DskipTests package) >&2
  jobs_jar="$(ls "$root"/jobs/target/nightshift-jobs-*.jar | grep -v -- '-tests.jar' | head -1)"
fi
udf_jar="$(ls "$root"/udf/target/nightshift-udf-*.jar | grep -v -- '-tests.jar' | head -1)"

# Every runtime jar the cluster's Spark does not already have (compared by file name).
jars="$udf_jar"
IFS=':' read -r -a classpath <<< "$(cat "$classpath_file")"
for jar in "${classpath[@]}"; do
  name="$(basename "$jar")"
  case "$name" in spark-*|scala-*|hadoop-*|junit-*|opentest4j-*|apiguardian-*) continue ;; esac
  [[ -e "$SPARK_HOME/jars/$name" ]] && continue
  jars="$jars,$jar"
done

# The module flags Spark 4.2 itself adds, repeated for executors launched by older cluster managers.
flags="$(sed 's/--add-modules=jdk.incubator.vector//' "$root/jobs/target/classes/nightshift-jvm.flags" | tr -s ' ')"
properties="$(mktemp "${TMPDIR:-/tmp}/nightshift-spark.XXXXXX.conf")"
trap 'rm -f "$properties"' EXIT
{
  cat "$root/conf/spark-defaults.conf"
  echo "spark.jars $jars"
  echo "spark.driver.extraJavaOptions $flags"
  echo "spark.executor.extraJavaOptions $flags"
} > "$properties"

"$SPARK_HOME/bin/spark-submit" --properties-file "$properties" \
  --class dev.nightshift.jobs.cli.NightshiftCli "$@" \
  "$jobs_jar" run --config "$config" "${job_args[@]+"${job_args[@]}"}"
