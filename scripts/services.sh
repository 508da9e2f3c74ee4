#!/usr/bin/env bash
#
# Install, start, stop and report on the Apache ZooKeeper and Apache Cassandra
# 5.0 servers that Lockstep's tests and developers use on this machine.
#
# Usage:
#   scripts/services.sh start  [zookeeper|cassandra]  install what is missing, start, wait until ready
#   scripts/services.sh stop   [zookeeper|cassandra]  SIGTERM, then SIGKILL after 30 s
#   scripts/services.sh status [zookeeper|cassandra]  print pid and port state of each service
#   scripts/services.sh wait   [zookeeper|cassandra]  wait until the services respond on their ports
#   scripts/services.sh pid    zookeeper|cassandra    print the pid of the running service
#   scripts/services.sh responding [zookeeper|cassandra]  exit 0 if the ports answer, whoever started them
# Without a service name, start, stop, status and wait act on both services.
#
# Both servers listen on 127.0.0.1 only. ZooKeeper comes from Debian's
# zookeeper package and Cassandra's jars from Maven Central, as listed in
# services/cassandra/pom.xml. The first start installs Debian packages with
# apt-get, so it must run as root. Data, logs, rendered configuration and pid
# files live under $LOCKSTEP_VAR_DIR.
#
# Environment:
#   LOCKSTEP_VAR_DIR        folder for data, logs and pid files (default: <repo>/var)
#   LOCKSTEP_ZK_PORT        ZooKeeper client port (default: 2181)
#   LOCKSTEP_CQL_PORT       Cassandra CQL native transport port (default: 9042)
#   LOCKSTEP_STORAGE_PORT   Cassandra internode storage port (default: 7000)
#   LOCKSTEP_JMX_PORT       Cassandra JMX registry and RMI port, bound to 127.0.0.1 (default: 7199)
#   LOCKSTEP_START_TIMEOUT  seconds to wait for each server to respond (default: 180)
#   JAVA_HOME               Java installation to use (default: java on PATH), version 17 or newer
#
# Exit status:
#   0  success. For status: every service checked runs and responds.
#   1  a step failed or timed out. The message names the step and its log.
#   2  invalid command line.
#   3  status: at least one service checked is not running or not responding.
#      pid: the service is not running.

set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR_DIR=${LOCKSTEP_VAR_DIR:-$REPO_DIR/var}
ZK_PORT=${LOCKSTEP_ZK_PORT:-2181}
CQL_PORT=${LOCKSTEP_CQL_PORT:-9042}
STORAGE_PORT=${LOCKSTEP_STORAGE_PORT:-7000}
JMX_PORT=${LOCKSTEP_JMX_PORT:-7199}
START_TIMEOUT=${LOCKSTEP_START_TIMEOUT:-180}
STOP_TIMEOUT=30

ZK_MAIN_CLASS=org.apache.zookeeper.server.quorum.QuorumPeerMain
CASSANDRA_MAIN_CLASS=org.apache.cassandra.service.CassandraDaemon
# Debian 12's zookeeper.jar lists its dependencies in its manifest Class-Path.
# slf4j-simple (package libslf4j-java) sends ZooKeeper's log to stderr, which
# the script writes to zookeeper.log.
ZK_JARS=(/usr/share/java/zookeeper.jar /usr/share/java/slf4j-simple.jar)

# --- output -----------------------------------------------------------------

log() {
    printf '[services] %s\n' "$*"
}

error() {
    printf '[services] error: %s\n' "$*" >&2
}

# Byte offsets of log files at the start of a server, so that a failure shows
# only the lines that this start wrote.
declare -A LOG_OFFSETS=()

remember_log_offsets() {
    local file
    for file in "$@"; do
        LOG_OFFSETS[$file]=$(stat -c %s "$file" 2>/dev/null || echo 0)
    done
}

# Print the last 30 lines of each log file that exists and is not empty,
# counting only lines written after remember_log_offsets if it was called.
show_log_tails() {
    local file offset tail_lines
    for file in "$@"; do
        [[ -s $file ]] || continue
        offset=${LOG_OFFSETS[$file]:-0}
        # A log file that is now smaller than its offset was rotated.
        if ((offset > $(stat -c %s "$file"))); then
            offset=0
        fi
        tail_lines=$(tail -c +$((offset + 1)) "$file" | tail -n 30)
        [[ -n $tail_lines ]] || continue
        printf '[services] last 30 lines of %s:\n%s\n' "$file" "$tail_lines" >&2
    done
}

# Report a failed step with its logs and exit 1.
# Usage: fail_step MESSAGE LOG_FILE...
fail_step() {
    local message=$1
    shift
    error "$message"
    if (($# > 0)); then
        error "see the log: $*"
        show_log_tails "$@"
    fi
    exit 1
}

# Print milliseconds since the epoch.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# Print the time since START_MS (milliseconds since the epoch) in seconds.
elapsed_since() {
    local start_ms=$1 elapsed_ms
    elapsed_ms=$(($(now_ms) - start_ms))
    printf '%d.%01d s' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))
}

# --- paths ------------------------------------------------------------------

prepare_var_dir() {
    mkdir -p "$VAR_DIR"
    VAR_DIR=$(cd "$VAR_DIR" && pwd)
    RUN_DIR=$VAR_DIR/run
    ZK_DIR=$VAR_DIR/zookeeper
    ZK_LOG=$ZK_DIR/zookeeper.log
    ZK_CFG=$ZK_DIR/zoo.cfg
    CASSANDRA_DIR=$VAR_DIR/cassandra
    CASSANDRA_LIB=$CASSANDRA_DIR/lib
    CASSANDRA_LOG_DIR=$CASSANDRA_DIR/logs
    CASSANDRA_SYSTEM_LOG=$CASSANDRA_LOG_DIR/system.log
    CASSANDRA_CONSOLE_LOG=$CASSANDRA_LOG_DIR/console.log
    CASSANDRA_YAML=$CASSANDRA_DIR/conf/cassandra.yaml
    mkdir -p "$RUN_DIR"
}

pid_file() {
    echo "$RUN_DIR/$1.pid"
}

main_class() {
    case $1 in
        zookeeper) echo "$ZK_MAIN_CLASS" ;;
        cassandra) echo "$CASSANDRA_MAIN_CLASS" ;;
    esac
}

# --- processes --------------------------------------------------------------

# Succeed if PID is a live process of SERVICE that this script started for
# this VAR_DIR: its command line must contain the service's main class and a
# path under VAR_DIR. This keeps a reused pid from being taken for the server.
is_service_process() {
    local service=$1 pid=$2 cmdline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    # A zombie has an empty command line and so does not match.
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$(main_class "$service")"* && $cmdline == *"$VAR_DIR/"* ]]
}

# Print the pid of the running SERVICE. Remove a stale pid file and fail if the
# service is not running.
running_pid() {
    local service=$1 file pid
    file=$(pid_file "$service")
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    if is_service_process "$service" "$pid"; then
        echo "$pid"
        return 0
    fi
    # stderr, because callers capture the pid from stdout.
    log "$service: removing stale pid file $file (pid ${pid:-none} is not a $service server of $VAR_DIR)" >&2
    rm -f "$file"
    return 1
}

# Start a command in its own session, detached from this shell and its
# terminal, with stdout and stderr appended to LOG_FILE. The process writes its
# own pid to PID_FILE before it execs the command, which works whether or not
# setsid has to fork.
# Usage: start_detached PID_FILE LOG_FILE COMMAND...
start_detached() {
    local file=$1 log_file=$2
    shift 2
    rm -f "$file"
    printf '=== %s: starting %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "${*: -1}" >>"$log_file"
    # The full command line, for debugging.
    printf '%q ' "$@" >"${file%.pid}.command"
    # The server must not inherit file descriptor 9, the lock of lock_var_dir,
    # or it would hold the lock for as long as it runs.
    # shellcheck disable=SC2016  # $$ and $@ expand in the child shell.
    nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$file" "$@" \
        >>"$log_file" 2>&1 </dev/null 9>&- &
    local deadline=$((SECONDS + 10))
    until [[ -s $file ]]; do
        if ((SECONDS > deadline)); then
            fail_step "pid file $file was not written within 10 s" "$log_file"
        fi
        sleep 0.1
    done
}

# Succeed if PID has exited. A process that is exiting has an empty command
# line before the kernel closes its sockets, so wait for /proc/PID to go or
# to become a zombie (state Z) instead.
process_exited() {
    local pid=$1 stat
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    # The state is the first field after the command name in parentheses.
    stat=${stat##*) }
    [[ ${stat%% *} == Z ]]
}

# Send SIGTERM to SERVICE, then SIGKILL if it still runs after STOP_TIMEOUT
# seconds, and remove its pid file. Only the pid from our pid file is signalled.
stop_service() {
    local service=$1 pid start_ms deadline
    if ! pid=$(running_pid "$service"); then
        log "$service: not running"
        return 0
    fi
    start_ms=$(now_ms)
    log "$service: stopping pid $pid (SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while ! process_exited "$pid" && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if ! process_exited "$pid"; then
        log "$service: pid $pid did not exit within ${STOP_TIMEOUT} s of SIGTERM, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while ! process_exited "$pid" && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if ! process_exited "$pid"; then
            fail_step "$service: pid $pid did not exit within 10 s of SIGKILL"
        fi
    fi
    rm -f "$(pid_file "$service")"
    log "$service: stopped pid $pid in $(elapsed_since "$start_ms")"
}

# --- ports ------------------------------------------------------------------

# Succeed if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    # shellcheck disable=SC2016  # $1 expands in the child shell.
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Succeed if ZooKeeper returns "imok" for the four-letter word "ruok".
zookeeper_responds() {
    local reply
    # shellcheck disable=SC2016  # $1 expands in the child shell.
    reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf ruok >&3 && cat <&3' \
        _ "$ZK_PORT" 2>/dev/null) || true
    [[ $reply == imok ]]
}

# Print the path of the project's Python if it has cassandra-driver installed.
driver_python() {
    local python=$REPO_DIR/.venv/bin/python
    [[ -x $python ]] && "$python" -c 'import cassandra' 2>/dev/null && echo "$python"
}

# Succeed if Cassandra accepts CQL on CQL_PORT. Cassandra opens the port only
# once it serves CQL. When the project's venv has cassandra-driver, a query of
# system.local must succeed too, and its release_version is printed.
cassandra_accepts_cql() {
    local python
    port_open "$CQL_PORT" || return 1
    python=$(driver_python) || return 0
    timeout 30 "$python" - "$CQL_PORT" 2>/dev/null <<'EOF'
import sys

from cassandra.cluster import Cluster

cluster = Cluster(["127.0.0.1"], port=int(sys.argv[1]), connect_timeout=5)
try:
    session = cluster.connect()
    row = session.execute("SELECT release_version FROM system.local").one()
    print(row.release_version)
finally:
    cluster.shutdown()
EOF
}

service_responds() {
    case $1 in
        zookeeper) zookeeper_responds ;;
        cassandra) cassandra_accepts_cql >/dev/null ;;
    esac
}

# Set LOG_FILES to the log files of SERVICE.
set_log_files() {
    case $1 in
        zookeeper) LOG_FILES=("$ZK_LOG") ;;
        cassandra) LOG_FILES=("$CASSANDRA_SYSTEM_LOG" "$CASSANDRA_CONSOLE_LOG") ;;
    esac
}

# Wait until SERVICE responds on its port, for at most START_TIMEOUT seconds.
# Fail at once if the process in its pid file exits.
# Usage: wait_until_ready SERVICE START_MS
wait_until_ready() {
    local service=$1 start_ms=$2 pid deadline
    set_log_files "$service"
    pid=$(<"$(pid_file "$service")")
    deadline=$((SECONDS + START_TIMEOUT))
    while true; do
        if ! is_service_process "$service" "$pid"; then
            rm -f "$(pid_file "$service")"
            fail_step "$service: the server process (pid $pid) exited during startup" "${LOG_FILES[@]}"
        fi
        if service_responds "$service"; then
            log "$service: ready (pid $pid) after $(elapsed_since "$start_ms")"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            fail_step "$service: timed out after ${START_TIMEOUT} s waiting for the server to respond. Pid $pid still runs, so stop it with 'scripts/services.sh stop $service'" \
                "${LOG_FILES[@]}"
        fi
        sleep 0.5
    done
}

# Wait until SERVICE responds on its port, for at most START_TIMEOUT seconds,
# whether or not this script started it. Unlike wait_until_ready, a missing
# process is not an error, because another start may not have launched it yet.
# Usage: wait_for_port SERVICE START_MS
wait_for_port() {
    local service=$1 start_ms=$2 deadline
    set_log_files "$service"
    deadline=$((SECONDS + START_TIMEOUT))
    until service_responds "$service"; do
        if ((SECONDS >= deadline)); then
            fail_step "$service: timed out after ${START_TIMEOUT} s waiting for the server to respond" \
                "${LOG_FILES[@]}"
        fi
        sleep 0.5
    done
    log "$service: responds after $(elapsed_since "$start_ms")"
}

# Fail if another process, not started by this script, listens on PORT.
require_free_port() {
    local service=$1 port=$2 variable=$3
    if port_open "$port"; then
        fail_step "$service: port $port on 127.0.0.1 is in use by a process that this script did not start; stop that process or set $variable"
    fi
}

# --- installation -----------------------------------------------------------

# Succeed if apt-cache lists an installable version of every PACKAGE.
apt_has_candidates() {
    local package policy
    for package in "$@"; do
        policy=$(apt-cache policy "$package" 2>/dev/null)
        [[ $policy == *"Candidate:"* && $policy != *"Candidate: (none)"* ]] || return 1
    done
}

# Install Debian PACKAGES. Runs apt-get update first only when the package
# lists lack one of them, and once more if the install fails, for example on
# outdated lists.
apt_install() {
    local log_file=$VAR_DIR/apt-get.log
    if ((EUID != 0)); then
        fail_step "installing Debian packages $* needs root. Run 'sudo apt-get install -y $*' or run this script as root"
    fi
    export DEBIAN_FRONTEND=noninteractive
    local start_ms
    start_ms=$(now_ms)
    if ! apt_has_candidates "$@"; then
        log "apt-get update (package lists do not have $*)"
        apt-get update -q >>"$log_file" 2>&1 || fail_step "apt-get update failed" "$log_file"
    fi
    if ! apt-get install -y -q --no-install-recommends "$@" >>"$log_file" 2>&1; then
        log "apt-get install failed, running apt-get update and retrying"
        apt-get update -q >>"$log_file" 2>&1 || fail_step "apt-get update failed" "$log_file"
        apt-get install -y -q --no-install-recommends "$@" >>"$log_file" 2>&1 ||
            fail_step "apt-get install -y $* failed" "$log_file"
    fi
    log "installed Debian packages $* in $(elapsed_since "$start_ms")"
}

# Set JAVA to a Java 17 or newer, installing Debian's OpenJDK 17 if no Java is
# found.
ensure_java() {
    local version major
    if [[ -n ${JAVA_HOME:-} ]]; then
        JAVA=$JAVA_HOME/bin/java
        [[ -x $JAVA ]] || fail_step "JAVA_HOME is $JAVA_HOME but $JAVA is missing or not executable"
    else
        if ! command -v java >/dev/null; then
            log "java: installing Debian package openjdk-17-jre-headless"
            apt_install openjdk-17-jre-headless
        fi
        JAVA=$(command -v java)
    fi
    version=$("$JAVA" -XshowSettings:properties -version 2>&1 |
        awk -F'= ' '/java.specification.version/ { print $2 }')
    # Java 8 and older report "1.8", and Java 9 and newer report "9", "17" and so on.
    major=${version#1.}
    major=${major%%.*}
    if [[ ! $major =~ ^[0-9]+$ ]] || ((major < 17)); then
        fail_step "$JAVA is Java ${version:-of unknown version}, but Cassandra 5.0 and this script need Java 17. Install openjdk-17-jre-headless or set JAVA_HOME to a Java 17"
    fi
    if ((major > 17)); then
        # NOTE: Cassandra 5.0 supports Java 11 and 17 only. Newer versions may
        # fail at startup.
        log "java: warning: $JAVA is Java $major, but Cassandra 5.0 supports Java 11 and 17 only"
    fi
}

ensure_zookeeper_installed() {
    local jar missing=0
    for jar in "${ZK_JARS[@]}"; do
        [[ -r $jar ]] || missing=1
    done
    ((missing)) || return 0
    log "zookeeper: installing Debian package (zookeeper, libslf4j-java)"
    apt_install zookeeper libslf4j-java
    for jar in "${ZK_JARS[@]}"; do
        [[ -r $jar ]] || fail_step "zookeeper: $jar is missing after installing the Debian packages"
    done
}

# Download Cassandra's jars into CASSANDRA_LIB unless a complete download of
# the current pom.xml is there. The jars go to a temporary folder that is
# renamed only after Maven succeeds, so an interrupted download starts again.
ensure_cassandra_jars() {
    local pom=$REPO_DIR/services/cassandra/pom.xml
    local marker=$CASSANDRA_LIB/.download-complete
    local partial=$CASSANDRA_LIB.partial
    local log_file=$CASSANDRA_DIR/maven.log
    local pom_hash start_ms
    pom_hash=$(sha256sum "$pom" | cut -d' ' -f1)
    if [[ -f $marker && $(<"$marker") == "$pom_hash" ]]; then
        return 0
    fi
    if ! command -v mvn >/dev/null; then
        log "cassandra: installing Debian package maven"
        apt_install maven
    fi
    start_ms=$(now_ms)
    log "cassandra: downloading jars with Maven into $CASSANDRA_LIB"
    rm -rf "$partial"
    mkdir -p "$CASSANDRA_DIR"
    if ! mvn -B -q -f "$pom" dependency:copy-dependencies \
        -DoutputDirectory="$partial" >"$log_file" 2>&1; then
        fail_step "cassandra: downloading jars with Maven failed" "$log_file"
    fi
    if ! compgen -G "$partial/jamm-*.jar" >/dev/null; then
        fail_step "cassandra: Maven finished but no jamm jar is in $partial" "$log_file"
    fi
    echo "$pom_hash" >"$partial/.download-complete"
    rm -rf "$CASSANDRA_LIB"
    mv "$partial" "$CASSANDRA_LIB"
    log "cassandra: downloaded $(find "$CASSANDRA_LIB" -name '*.jar' | wc -l) jars in $(elapsed_since "$start_ms")"
}

# Copy TEMPLATE to TARGET, replacing each @NAME@ with its value.
# Usage: render_template TEMPLATE TARGET @NAME@ VALUE [@NAME@ VALUE]...
render_template() {
    local template=$1 target=$2 content
    shift 2
    content=$(<"$template")
    while (($# >= 2)); do
        content=${content//"$1"/"$2"}
        shift 2
    done
    if [[ $content =~ @[A-Z_]+@ ]]; then
        fail_step "$template has a placeholder that the script does not fill: ${BASH_REMATCH[0]}"
    fi
    mkdir -p "$(dirname "$target")"
    printf '%s\n' "$content" >"$target.tmp"
    mv "$target.tmp" "$target"
}

# --- start ------------------------------------------------------------------

# Succeed and print a message if SERVICE already runs. If its process runs but
# does not respond yet (for example another start is in progress), wait for it.
already_running() {
    local service=$1 pid
    if ! pid=$(running_pid "$service" 2>/dev/null); then
        # A server started from another checkout or by hand is used as is.
        if service_responds "$service"; then
            log "$service: already answering on 127.0.0.1 (started outside this checkout); using it"
            return 0
        fi
        return 1
    fi
    if service_responds "$service"; then
        log "$service: already running (pid $pid)"
    else
        log "$service: pid $pid is running but does not respond yet, waiting"
        wait_until_ready "$service" "$(now_ms)"
    fi
}

start_zookeeper() {
    local start_ms
    already_running zookeeper && return 0
    ensure_zookeeper_installed
    require_free_port zookeeper "$ZK_PORT" LOCKSTEP_ZK_PORT
    mkdir -p "$ZK_DIR/data"
    render_template "$REPO_DIR/services/zookeeper/zoo.cfg" "$ZK_CFG" \
        @ZK_DATA_DIR@ "$ZK_DIR/data" @ZK_PORT@ "$ZK_PORT"
    local classpath
    classpath=$(IFS=:; echo "${ZK_JARS[*]}")
    set_log_files zookeeper
    remember_log_offsets "${LOG_FILES[@]}"
    start_ms=$(now_ms)
    log "zookeeper: starting on 127.0.0.1:$ZK_PORT, log $ZK_LOG"
    start_detached "$(pid_file zookeeper)" "$ZK_LOG" \
        "$JAVA" -Xms128m -Xmx512m \
        -Djava.net.preferIPv4Stack=true \
        -Dzookeeper.jmx.log4j.disable=true \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        '-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss,SSS' \
        -cp "$classpath" "$ZK_MAIN_CLASS" "$ZK_CFG"
    wait_until_ready zookeeper "$start_ms"
}

# Print the JVM options of services/cassandra/jvm-server.options, one a line,
# without comments and blank lines.
cassandra_jvm_options() {
    local line
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
        [[ -n $line ]] && printf '%s\n' "$line"
    done <"$REPO_DIR/services/cassandra/jvm-server.options"
}

start_cassandra() {
    local start_ms jamm
    local -a jamm_jars jvm_options
    already_running cassandra && return 0
    ensure_cassandra_jars
    require_free_port cassandra "$CQL_PORT" LOCKSTEP_CQL_PORT
    require_free_port cassandra "$STORAGE_PORT" LOCKSTEP_STORAGE_PORT
    require_free_port cassandra "$JMX_PORT" LOCKSTEP_JMX_PORT

    mkdir -p "$CASSANDRA_LOG_DIR" "$CASSANDRA_DIR"/{data,commitlog,saved_caches,hints,cdc_raw,triggers}
    render_template "$REPO_DIR/services/cassandra/cassandra.yaml" "$CASSANDRA_YAML" \
        @CASSANDRA_DIR@ "$CASSANDRA_DIR" @STORAGE_PORT@ "$STORAGE_PORT" @CQL_PORT@ "$CQL_PORT"
    jamm_jars=("$CASSANDRA_LIB"/jamm-*.jar)
    jamm=${jamm_jars[0]}
    mapfile -t jvm_options < <(cassandra_jvm_options)

    set_log_files cassandra
    remember_log_offsets "${LOG_FILES[@]}"
    start_ms=$(now_ms)
    log "cassandra: starting on 127.0.0.1:$CQL_PORT, log $CASSANDRA_SYSTEM_LOG"
    start_detached "$(pid_file cassandra)" "$CASSANDRA_CONSOLE_LOG" \
        "$JAVA" "${jvm_options[@]}" \
        "-javaagent:$jamm" \
        -Dcassandra-foreground=yes \
        "-Dcassandra.config=file://$CASSANDRA_YAML" \
        "-Dcassandra.storagedir=$CASSANDRA_DIR" \
        "-Dcassandra.logdir=$CASSANDRA_LOG_DIR" \
        "-Dcassandra.triggers_dir=$CASSANDRA_DIR/triggers" \
        "-Dlogback.configurationFile=file://$REPO_DIR/services/cassandra/logback.xml" \
        "-Dcassandra.jmx.local.port=$JMX_PORT" \
        "-Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT" \
        -Djava.rmi.server.hostname=127.0.0.1 \
        "-XX:HeapDumpPath=$CASSANDRA_LOG_DIR" \
        "-XX:ErrorFile=$CASSANDRA_LOG_DIR/hs_err_%p.log" \
        -cp "$CASSANDRA_LIB/*" "$CASSANDRA_MAIN_CLASS"

    wait_until_ready cassandra "$start_ms"
}

# --- status -----------------------------------------------------------------

# Print the state of SERVICE. Succeed if it runs and responds.
print_status() {
    local service=$1 pid release
    if ! pid=$(running_pid "$service" 2>/dev/null); then
        if service_responds "$service"; then
            log "$service: answering on 127.0.0.1, started outside this checkout"
            return 0
        elif [[ $service == zookeeper ]] && port_open "$ZK_PORT"; then
            log "zookeeper: not started by this script, but port $ZK_PORT on 127.0.0.1 is in use"
        elif [[ $service == cassandra ]] && port_open "$CQL_PORT"; then
            log "cassandra: not started by this script, but port $CQL_PORT on 127.0.0.1 is in use"
        else
            log "$service: not running"
        fi
        return 1
    fi
    case $service in
        zookeeper)
            if zookeeper_responds; then
                log "zookeeper: running, pid $pid, 127.0.0.1:$ZK_PORT returns imok for ruok"
                return 0
            fi
            log "zookeeper: pid $pid runs, but 127.0.0.1:$ZK_PORT does not return imok for ruok"
            ;;
        cassandra)
            if release=$(cassandra_accepts_cql); then
                log "cassandra: running, pid $pid, 127.0.0.1:$CQL_PORT accepts CQL${release:+ (release $release)}"
                return 0
            fi
            log "cassandra: pid $pid runs, but 127.0.0.1:$CQL_PORT does not accept CQL"
            ;;
    esac
    return 1
}

# --- command line -----------------------------------------------------------

usage() {
    cat >&2 <<EOF
Usage: scripts/services.sh start|stop|status|wait [zookeeper|cassandra]
       scripts/services.sh pid zookeeper|cassandra
See the comment at the top of $0 for the environment variables.
EOF
    exit 2
}

# Hold an exclusive lock so that two start or stop commands do not interleave.
lock_var_dir() {
    exec 9>"$RUN_DIR/services.lock"
    if ! flock -w 600 9; then
        fail_step "timed out after 600 s waiting for $RUN_DIR/services.lock, held by another services.sh"
    fi
}

main() {
    (($# >= 1 && $# <= 2)) || usage
    local command=$1 service=${2:-}
    local -a services
    case $service in
        "") services=(zookeeper cassandra) ;;
        zookeeper | cassandra) services=("$service") ;;
        *)
            error "unknown service '$service'; expected zookeeper or cassandra"
            usage
            ;;
    esac
    prepare_var_dir

    case $command in
        start)
            lock_var_dir
            ensure_java
            # Install and download everything first, so a missing package
            # fails before any server starts.
            if [[ -z $service || $service == zookeeper ]] && ! service_responds zookeeper; then
                ensure_zookeeper_installed
            fi
            if [[ -z $service || $service == cassandra ]] && ! service_responds cassandra; then
                ensure_cassandra_jars
            fi
            for service in "${services[@]}"; do
                "start_$service"
            done
            ;;
        stop)
            lock_var_dir
            # Stop Cassandra before ZooKeeper, the reverse of the start order.
            local index
            for ((index = ${#services[@]} - 1; index >= 0; index--)); do
                stop_service "${services[index]}"
            done
            ;;
        status)
            local status=0
            for service in "${services[@]}"; do
                print_status "$service" || status=3
            done
            return "$status"
            ;;
        responding)
            # Whether the ports answer, whoever started the servers; make
            # test uses servers already running from another checkout.
            for service in "${services[@]}"; do
                service_responds "$service" || return 3
            done
            ;;
        wait)
            local start_ms
            start_ms=$(now_ms)
            for service in "${services[@]}"; do
                wait_for_port "$service" "$start_ms"
            done
            ;;
        pid)
            [[ -n ${2:-} ]] || usage
            local pid
            if pid=$(running_pid "$service" 2>/dev/null); then
                echo "$pid"
            else
                error "$service is not running"
                return 3
            fi
            ;;
        *)
            error "unknown command '$command'"
            usage
            ;;
    esac
}

main "$@"
