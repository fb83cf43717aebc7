#!/usr/bin/env bash
# Apache Cassandra 5.0 for the Brooks local stack: one node on 127.0.0.1:9042,
# a plain JVM process (no Docker). See NOTES.md.
#
#   server.sh install   fetch the jars (pom.xml) into $BROOKS_STATE/install/cassandra/lib;
#                       a no-op when the stamp matches the pom's hash
#   server.sh start     render config, start the JVM in the background, write the pid; returns at once
#   server.sh healthy   one probe (< 2 s): exit 0 only when CQL on 9042 answers
#   server.sh stop      SIGTERM the pid from the pid file and wait for it to exit
#   server.sh port      prints 9042
#   server.sh logfile   prints the main log path
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
state=${BROOKS_STATE:-$root/.brooks}
case $state in /*) ;; *) state=$PWD/$state ;; esac

install_dir=$state/install/cassandra
lib_dir=$install_dir/lib
stamp=$install_dir/stamp
run_dir=$state/cassandra
data_dir=$run_dir/data
logs_dir=$run_dir/logs
conf_dir=$run_dir/conf
pid_file=$run_dir/pid

port=9042
storage_port=7000
main_class=org.apache.cassandra.service.CassandraDaemon

die() { echo "cassandra: $*" >&2; exit 1; }

pom_hash() { sha256sum "$here/pom.xml" | cut -d' ' -f1; }

installed() { [[ -d $lib_dir && -f $stamp && "$(cat "$stamp")" == "$(pom_hash)" ]]; }

# The pid from the pid file if that process is alive and is our Cassandra.
running_pid() {
  local pid
  [[ -f $pid_file ]] || return 1
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$main_class" || return 1
  echo "$pid"
}

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

cmd_install() {
  installed && return 0
  command -v mvn >/dev/null || die "mvn not found"
  mkdir -p "$install_dir"
  exec 9>"$install_dir/.lock"
  flock 9
  installed && return 0   # another install finished while we waited
  local tmp=$install_dir/lib.tmp.$$
  rm -rf "$tmp"
  if ! mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$install_dir/mvn.log" 2>&1; then
    cat "$install_dir/mvn.log" >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (log above, also in $install_dir/mvn.log)"
  fi
  ls "$tmp"/cassandra-all-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "cassandra-all jar missing after copy"; }
  rm -rf "$lib_dir"
  mv "$tmp" "$lib_dir"
  pom_hash >"$stamp"
}

render_config() {
  mkdir -p "$conf_dir" "$data_dir" "$logs_dir" "$run_dir/triggers"
  case $data_dir in *\'* | *$'\n'*) die "state path must not contain quotes or newlines: $data_dir" ;; esac
  local text
  text=$(<"$here/cassandra.yaml.in")
  text=${text//@@DATA_DIR@@/"$data_dir"}
  printf '%s\n' "$text" >"$conf_dir/cassandra.yaml.tmp"
  mv "$conf_dir/cassandra.yaml.tmp" "$conf_dir/cassandra.yaml"
  cp "$here/logback.xml" "$conf_dir/logback.xml"
}

jvm_opts() {
  local o=(
    # Heap and GC: jvm-server.options + jvm17-server.options (G1), except the
    # region size: 4m suits a 1 GiB heap (256 regions) and keeps 1 MiB
    # memtable slabs below the humongous threshold.
    -Xms1g -Xmx1g -Xss256k
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    -XX:G1HeapRegionSize=4m -XX:G1RSetUpdatingPauseTimePercent=5
    -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70
    -XX:+UseThreadPriorities -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem
    -XX:+ExitOnOutOfMemoryError
    "-Xlog:gc:file=$logs_dir/gc.log:time,uptime:filecount=3,filesize=10m"
    -ea -da:net.openhft...
    -Djava.net.preferIPv4Stack=true
    # JPMS (jvm17-server.options)
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    # Netty and Chronicle
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    -Dchronicle.analytics.disable=true
    # Cassandra. No cassandra.jmx.*.port: no JMX listener, so no port 7199.
    "-Dcassandra.config=file://$conf_dir/cassandra.yaml"
    -Dcassandra-foreground=yes
    "-Dcassandra.storagedir=$data_dir"
    "-Dcassandra.logdir=$logs_dir"
    "-Dcassandra.triggers_dir=$run_dir/triggers"
    "-Dlogback.configurationFile=$conf_dir/logback.xml"
    -Dcassandra.skip_wait_for_gossip_to_settle=0
  )
  printf '%s\n' "${o[@]}"
}

cmd_start() {
  local pid
  if pid=$(running_pid); then
    echo "cassandra: already running (pid $pid)" >&2
    return 0
  fi
  installed || die "not installed (or pom.xml changed): run '$0 install' first"
  command -v java >/dev/null || die "java not found"
  local p
  for p in "$port" "$storage_port"; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use by another process"
  done
  render_config
  rm -f "$pid_file"

  local opts=()
  mapfile -t opts < <(jvm_opts)
  ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

  {
    echo "=== $(date -Is) start"
  } >>"$logs_dir/stdout.log"
  # nohup and setsid exec (setsid does not fork: we are not a group leader),
  # so $! is the JVM's pid.
  cd "$run_dir"
  nohup setsid java "${opts[@]}" -cp "$lib_dir/*" "$main_class" \
    >>"$logs_dir/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file.tmp"
  mv "$pid_file.tmp" "$pid_file"

  # Catch an immediate failure (bad flag, missing class) without waiting for startup.
  sleep 0.5
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 20 "$logs_dir/stdout.log" >&2
    die "JVM exited at once; see $logs_dir/stdout.log"
  fi
  echo "cassandra: started pid $pid (CQL on 127.0.0.1:$port once healthy; log $logs_dir/system.log)"
}

# Healthy = our pid is alive and a CQL OPTIONS request on 9042 gets a
# SUPPORTED reply (protocol v4 header: version 0x84, opcode 0x06).
cmd_healthy() {
  running_pid >/dev/null || return 1
  local reply
  reply=$(timeout 1.5 bash -c "
    exec 3<>/dev/tcp/127.0.0.1/$port || exit 1
    printf '\x04\x00\x00\x01\x05\x00\x00\x00\x00' >&3
    head -c 5 <&3 | od -An -tx1 | tr -s ' \n' ' '
  " 2>/dev/null) || return 1
  [[ $reply == " 84 00 00 01 06 " ]]
}

cmd_stop() {
  local pid i
  pid=$(running_pid) || { rm -f "$pid_file"; return 0; }
  kill -TERM "$pid"
  for ((i = 0; i < 120; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; return 0; }
    sleep 0.5
  done
  die "pid $pid did not exit within 60 s after SIGTERM"
}

case ${1:-} in
  install) cmd_install ;;
  start) cmd_start ;;
  healthy) cmd_healthy ;;
  stop) cmd_stop ;;
  port) echo "$port" ;;
  logfile) echo "$logs_dir/system.log" ;;
  *) echo "usage: $0 install|start|healthy|stop|port|logfile" >&2; exit 2 ;;
esac
