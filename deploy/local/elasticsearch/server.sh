#!/usr/bin/env bash
# Local Elasticsearch 8.19 for Brooks: one genuine node on 127.0.0.1:9200
# (transport 9300), built from Maven Central jars. See NOTES.md.
#
#   server.sh install   fetch jars + compile the main class (no-op when up to date)
#   server.sh start     start the JVM in the background, write the pid file, return
#   server.sh healthy   one probe: _cluster/health is green or yellow (exit 0) or not (exit 1)
#   server.sh port      print 9200
#   server.sh logfile   print the main log path
#   server.sh stop      SIGTERM the pid from the pid file and wait for it to exit
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"
STATE="${BROOKS_STATE:-$REPO_ROOT/.brooks}"
INSTALL="$STATE/install/elasticsearch"
RUN="$STATE/elasticsearch"
PIDFILE="$RUN/pid"
LOGFILE="$RUN/logs/elasticsearch.log"
PORT=9200
MAIN=LocalElasticsearch

die() { echo "elasticsearch: $*" >&2; exit 1; }

stamp() {
  # Hash of everything install depends on: pinned versions + Java sources.
  (cd "$HERE" && find src -name '*.java' | LC_ALL=C sort | xargs cat pom.xml) | sha256sum | cut -d' ' -f1
}

installed() {
  [[ -f "$INSTALL/stamp" && "$(cat "$INSTALL/stamp")" == "$(stamp)" ]]
}

cmd_install() {
  installed && return 0
  command -v mvn >/dev/null || die "mvn not found"
  command -v javac >/dev/null || die "javac not found"
  mkdir -p "$INSTALL"
  rm -rf "$INSTALL/lib.new" "$INSTALL/classes.new" "$INSTALL/stamp"
  local out="$INSTALL/mvn.log"
  # Full plugin coordinates: no plugin-prefix lookup (version pinned in pom.xml too).
  if ! mvn -B -f "$HERE/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$INSTALL/lib.new" >"$out" 2>&1; then
    cat "$out" >&2; die "mvn dependency:copy-dependencies failed"
  fi
  rm -rf "$HERE/target"   # mvn may leave an empty target/ behind
  local sources; mapfile -t sources < <(find "$HERE/src" -name '*.java')
  # Output kept for failures only: javac always warns about sun.misc.Signal (jdk.unsupported).
  if ! javac -encoding UTF-8 --release 17 -cp "$INSTALL/lib.new/*" \
      -d "$INSTALL/classes.new" "${sources[@]}" >"$INSTALL/javac.log" 2>&1; then
    cat "$INSTALL/javac.log" >&2; die "javac failed"
  fi
  rm -rf "$INSTALL/lib" "$INSTALL/classes"
  mv "$INSTALL/lib.new" "$INSTALL/lib"
  mv "$INSTALL/classes.new" "$INSTALL/classes"
  stamp > "$INSTALL/stamp"
}

running_pid() {
  # Prints the pid if the pid file names a live JVM running our main class.
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q " $MAIN" || return 1
  echo "$pid"
}

cmd_start() {
  installed || die "not installed (or out of date): run '$0 install' first"
  if pid="$(running_pid)"; then
    echo "elasticsearch: already running (pid $pid)" >&2
    return 0
  fi
  local home="$RUN/data/home" data="$RUN/data/nodes" tmp="$RUN/tmp"
  mkdir -p "$home/config" "$data" "$RUN/logs" "$tmp"
  cp "$HERE/config/elasticsearch.yml" "$HERE/config/log4j2.properties" "$home/config/"
  [[ -f "$LOGFILE" ]] && mv -f "$LOGFILE" "$LOGFILE.1"

  local jvm=(
    -Xms1g -Xmx1g -Xss1m
    -XX:+UseG1GC -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30
    -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError
    -XX:ErrorFile="$RUN/logs/hs_err_pid%p.log"
    -Djava.io.tmpdir="$tmp" -Djava.awt.headless=true -Dfile.encoding=UTF-8
    -Djna.nosys=true -Djava.locale.providers=CLDR
    -Des.networkaddress.cache.ttl=60 -Des.networkaddress.cache.negative.ttl=10
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true
    -Dio.netty.recycler.maxCapacityPerThread=0
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
    -Dbrooks.es.home="$home" -Dbrooks.es.data="$data" -Dbrooks.es.logs="$RUN/logs"
  )
  # The test framework's bootstrap refuses to run as root (it asks libc for
  # geteuid through JNA). As root, run the JVM in a user namespace where it is
  # uid 1000; on the host it stays root (files keep owner root, kill works).
  # Without user namespaces, disable JNA instead: the node then runs without
  # native access, and indices with zstd stored fields (index.codec:
  # best_compression, logsdb, time_series) fail. See NOTES.md.
  local prefix=()
  if [[ "$(id -u)" == 0 ]]; then
    if unshare --user --map-user=1000 --map-group=1000 true 2>/dev/null; then
      prefix=(unshare --user --map-user=1000 --map-group=1000)
    else
      echo "elasticsearch: no user namespaces; running as root with native access disabled" >>"$LOGFILE"
      jvm+=(-Djna.nounpack=true)
    fi
  fi
  # Not a process-group leader here (no job control in scripts), so setsid
  # (and unshare) exec in place and $! is the JVM's pid.
  cd "$RUN"
  setsid nohup "${prefix[@]}" java "${jvm[@]}" -cp "$INSTALL/classes:$INSTALL/lib/*" "$MAIN" \
    >>"$LOGFILE" 2>&1 </dev/null &
  echo $! > "$PIDFILE"
}

cmd_healthy() {
  curl -sf --max-time 2 "http://127.0.0.1:$PORT/_cluster/health" 2>/dev/null \
    | grep -Eq '"status":"(green|yellow)"'
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }
    sleep 0.5
  done
  die "pid $pid did not exit within 60s"
}

case "${1:-}" in
  install) cmd_install ;;
  start)   cmd_start ;;
  healthy) cmd_healthy ;;
  port)    echo "$PORT" ;;
  logfile) echo "$LOGFILE" ;;
  stop)    cmd_stop ;;
  *) echo "usage: $0 install|start|healthy|port|logfile|stop" >&2; exit 2 ;;
esac
