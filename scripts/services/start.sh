#!/usr/bin/env bash
# Local stand-ins for the Hub's AWS services, on 127.0.0.1, for the specs and for trying the worker by hand:
#   SQS: ElasticMQ (the server the Hub's own docker-compose uses), from Maven Central, run with the system Java.
#   S3:  moto's server, from PyPI, in its own virtualenv (.cache/services-venv).
#   Image registry: Debian's docker-registry (the Distribution registry), for the base-image pull path.
# Idempotent: installs what is missing, starts what is not answering, and returns at once when both are up.
# Writes the endpoints to .cache/services.env (read by spec/helpers/services.ts). Logs: logs/elasticmq.log,
# logs/moto.log, logs/registry.log; PIDs: .cache/services/*.pid. Stop with scripts/services/stop.sh.
# Ports: PVHUB_TEST_SQS_PORT (default 9324), PVHUB_TEST_S3_PORT (default 4566), PVHUB_TEST_REGISTRY_PORT (5555).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { printf '[services] %s\n' "$*" >&2; }

# Pinned so every machine runs the same servers; bump deliberately (checked newest on Maven Central / PyPI).
elasticmq_version=1.7.1
moto_version=5.2.5
sqs_port="${PVHUB_TEST_SQS_PORT:-9324}"
s3_port="${PVHUB_TEST_S3_PORT:-4566}"
registry_port="${PVHUB_TEST_REGISTRY_PORT:-5555}"
host=127.0.0.1
state=.cache/services
mkdir -p logs "$state"

# Healthy: any HTTP answer below 500. A server left by a deleted checkout still listens but answers 500.
answers() {
  local code
  code="$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1")" || return 1
  [ "$code" -ge 200 ] && [ "$code" -lt 500 ]
}

# A server of ours that listens but is broken (its files gone with an old checkout) is stopped, to start afresh.
stop_broken() {
  local url="$1" pattern="$2"
  if curl -s -o /dev/null --max-time 2 "$url" && ! answers "$url"; then
    say "a broken server answers on $url; stopping it"
    pkill -f "$pattern" || true
    sleep 1
  fi
}

# The process of a PID file, if it is still alive.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_until_answers() {
  local name="$1" url="$2" pidfile="$3" log="$4"
  for _ in $(seq 1 120); do
    answers "$url" && return 0
    if ! alive "$pidfile"; then
      say "$name exited while starting; last lines of $log:"
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.5
  done
  say "$name did not answer on $url within 60 s; see $log"
  return 1
}

# Started in its own session with no terminal: outlives this script and holds no pipe of the caller open
# (a CI runner waiting for its output to close would otherwise wait for the server).
launch() {
  local pidfile="$1" log="$2"
  shift 2
  setsid nohup "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$pidfile"
}

# --- SQS: ElasticMQ --------------------------------------------------------------------------------------------
sqs_url="http://$host:$sqs_port"
# An unsigned ListQueues is answered (with an error document) only by a live SQS endpoint.
sqs_probe="$sqs_url/?Action=ListQueues"
stop_broken "$sqs_probe" "org.elasticmq.server.Main"
if ! answers "$sqs_probe"; then
  jars="$state/elasticmq-$elasticmq_version"
  if [ ! -f "$jars/.complete" ]; then
    say "fetching ElasticMQ $elasticmq_version and its dependencies from Maven Central (one time)"
    command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1 || {
      [ -f .cache/apt-updated ] || { apt-get update -qq >/dev/null && touch .cache/apt-updated; }
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless maven >>logs/setup-apt.log 2>&1
    }
    rm -rf "$jars" && mkdir -p "$jars/pom"
    cat >"$jars/pom/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.pvhub</groupId>
  <artifactId>elasticmq-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>$elasticmq_version</version>
    </dependency>
  </dependencies>
</project>
EOF
    mvn -q -B -f "$jars/pom/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$root/$jars/lib" >>logs/elasticmq-install.log 2>&1 || {
      say "maven could not fetch ElasticMQ; see logs/elasticmq-install.log"
      exit 1
    }
    touch "$jars/.complete"
  fi
  # FIFO queues need no setting; queues are created by the specs (or the worker's PVHUB_CREATE_QUEUE).
  cat >"$state/elasticmq.conf" <<EOF
include classpath("application.conf")
node-address {
  protocol = http
  host = "$host"
  port = $sqs_port
  context-path = ""
}
rest-sqs {
  enabled = true
  bind-port = $sqs_port
  bind-hostname = "$host"
  sqs-limits = strict
}
rest-stats {
  enabled = false
}
generate-node-address = false
EOF
  say "starting ElasticMQ on $sqs_url (log: logs/elasticmq.log)"
  launch "$state/elasticmq.pid" logs/elasticmq.log \
    java -Xmx256m -Dconfig.file="$root/$state/elasticmq.conf" -cp "$root/$jars/lib/*" org.elasticmq.server.Main
  wait_until_answers ElasticMQ "$sqs_probe" "$state/elasticmq.pid" logs/elasticmq.log
fi

# --- S3: moto ----------------------------------------------------------------------------------------------------
s3_url="http://$host:$s3_port"
stop_broken "$s3_url/" "moto_server -H $host -p $s3_port"
if ! answers "$s3_url/"; then
  venv=.cache/services-venv
  if [ ! -f "$venv/.complete-$moto_version" ]; then
    say "installing moto[server] $moto_version into $venv (one time)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip >>logs/moto-install.log 2>&1
    "$venv/bin/python" -m pip install -q "moto[server]==$moto_version" >>logs/moto-install.log 2>&1 || {
      say "pip could not install moto; see logs/moto-install.log"
      exit 1
    }
    touch "$venv/.complete-$moto_version"
  fi
  say "starting moto (S3) on $s3_url (log: logs/moto.log)"
  launch "$state/moto.pid" logs/moto.log "$root/$venv/bin/moto_server" -H "$host" -p "$s3_port"
  wait_until_answers moto "$s3_url/" "$state/moto.pid" logs/moto.log
fi

# --- Image registry: Debian's docker-registry -----------------------------------------------------------------
# The engine pushes to and pulls from it over plain HTTP: Docker allows that for 127.0.0.0/8 without configuration.
registry_host="$host:$registry_port"
registry_probe="http://$registry_host/v2/"
if ! answers "$registry_probe"; then
  command -v docker-registry >/dev/null 2>&1 || {
    say "installing docker-registry from Debian (one time)"
    [ -f .cache/apt-updated ] || { apt-get update -qq >/dev/null && touch .cache/apt-updated; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >>logs/setup-apt.log 2>&1
  }
  # Its own configuration: no authentication, storage under .cache, loopback only (not the package's :5000).
  cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $root/$state/registry-data
  delete:
    enabled: true
http:
  addr: $registry_host
EOF
  say "starting docker-registry on $registry_host (log: logs/registry.log)"
  launch "$state/registry.pid" logs/registry.log docker-registry serve "$root/$state/registry.yml"
  wait_until_answers docker-registry "$registry_probe" "$state/registry.pid" logs/registry.log
fi

cat >.cache/services.env <<EOF
PVHUB_TEST_SQS_ENDPOINT=$sqs_url
PVHUB_TEST_S3_ENDPOINT=$s3_url
PVHUB_TEST_REGISTRY=$registry_host
EOF
say "SQS $sqs_url, S3 $s3_url, registry $registry_host (endpoints in .cache/services.env)"
