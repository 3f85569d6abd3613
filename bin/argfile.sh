# Writes java @argfiles (sourced by bin/nightshift; tests run it too).
#
# ONNX Runtime 1.29 crashes (SIGSEGV) while creating its environment when the JVM's command line is longer than
# about 4 KB, so nothing a user types may reach the java command line: the classpath, the main class and every
# program argument go through an argument file. In an argfile each argument is written in double quotes, with \ " and
# the control characters a line-based file cannot hold escaped (\\ \" \n \r \t \f); the java launcher undoes this.

# nightshift_argfile FILE ARG... : writes ARG... to FILE, one quoted argument per line.
nightshift_argfile() {
  local file="$1" arg
  shift
  {
    for arg in "$@"; do
      arg="${arg//\\/\\\\}"
      arg="${arg//\"/\\\"}"
      arg="${arg//$'\n'/\\n}"
      arg="${arg//$'\r'/\\r}"
      arg="${arg//$'\t'/\\t}"
      arg="${arg//$'\f'/\\f}"
      printf '"%s"\n' "$arg"
    done
  } > "$file"
}
