#!/usr/bin/env bash
# A real Slurm cluster on localhost with N fake nodes: for tests, `make demo` and trying the
# Slurm path of suanwang without a real center.
#
#   scripts/slurm-local.sh start  NAME [--nodes N] [--cpus C] [--mem-mb M] [--gpus G]
#                                      [--base-port P] [--cluster CLUSTER] [--dbd] [--fresh]
#   scripts/slurm-local.sh stop   NAME           (the shared mariadbd too, once no slurmdbd uses it)
#   scripts/slurm-local.sh status NAME
#
# start prints the path of the cluster's slurm.conf on stdout (and nothing else): point any
# Slurm client at it with SLURM_CONF=<path>. Two or more clusters run side by side: each NAME
# gets its own state directory ($SUANWANG_SLURM_DIR/NAME, default /tmp/suanwang-slurm/NAME),
# its own ports (derived from NAME, or --base-port), its own ClusterName (NAME lower-cased, or
# --cluster) and node names CLUSTER-n1..n<N>. One munged serves every cluster (it is started
# if none runs, and left running by stop: other clusters may use it).
# Accounting: jobcomp/filetxt always (`sacct -c` lists finished jobs); --dbd adds slurmdbd with
# a MariaDB database per cluster (full `sacct`: steps, AllocTRES), one shared mariadbd.
# start is idempotent: a running cluster with the same configuration is left alone; a running
# cluster with another configuration is restarted. --fresh clears job state, the jobcomp file
# and (--dbd) the cluster's accounting database: job ids start from 1 again. Needs root (or the slurm user set-up of a real install).
# Working config and pitfalls: ../shared/notes/local-infrastructure.md section 2.
set -euo pipefail

die() { echo "slurm-local: $*" >&2; exit 2; }
usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1 name=$2
shift 2
[[ $name =~ ^[A-Za-z][A-Za-z0-9_-]{0,30}$ ]] || die "NAME must be a letter then up to 30 of [A-Za-z0-9_-] (got '$name')"
nodes=2 cpus=2 mem_mb="" gpus=0 base_port="" cluster="" dbd=0 fresh=0
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) nodes=${2:?}; shift 2 ;;
    --cpus) cpus=${2:?}; shift 2 ;;
    --mem-mb) mem_mb=${2:?}; shift 2 ;;
    --gpus) gpus=${2:?}; shift 2 ;;
    --base-port) base_port=${2:?}; shift 2 ;;
    --cluster) cluster=${2:?}; shift 2 ;;
    --dbd) dbd=1; shift ;;
    --fresh) fresh=1; shift ;;
    *) die "unknown option '$1'" ;;
  esac
done
# memory per node: enough for DefMemPerCPU (256 MB) on every CPU, at least 2000 MB
[ -n "$mem_mb" ] || mem_mb=$(( cpus * 256 > 2000 ? cpus * 256 : 2000 ))
for v in nodes cpus mem_mb gpus; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "--${v//_/-} must be a whole number (got '${!v}')"
done
[ "$nodes" -ge 1 ] && [ "$nodes" -le 64 ] || die "--nodes must be 1..64 (got $nodes)"
[ "$cpus" -ge 1 ] || die "--cpus must be >= 1"

root=${SUANWANG_SLURM_DIR:-/tmp/suanwang-slurm}
D=$root/$name
conf=$D/slurm.conf
export SLURM_CONF=$conf
if [ -z "$cluster" ] && [ "$cmd" != start ] && [ -f "$conf" ]; then
  cluster=$(sed -n 's/^ClusterName=//p' "$conf")
fi
cluster=${cluster:-$(echo "$name" | tr 'A-Z_' 'a-z-')}
[[ $cluster =~ ^[a-z][a-z0-9-]{0,30}$ ]] || die "--cluster must be lower-case [a-z0-9-] (got '$cluster')"
if [ -z "$base_port" ]; then
  # deterministic per NAME: 200 slots of 100 ports in 11000..30999, below Linux's ephemeral
  # range (32768+), so an outgoing connection never holds a node's port
  base_port=$(( 11000 + ($(printf '%s' "$name" | cksum | cut -d' ' -f1) % 200) * 100 ))
fi
[[ $base_port =~ ^[0-9]+$ ]] && [ "$base_port" -ge 1024 ] && [ "$base_port" -le 65400 ] \
  || die "--base-port must be 1024..65400 (got '$base_port')"
ctld_port=$base_port slurmd_port=$((base_port + 1)) dbd_port=$((base_port + 2))
first_node_port=$((base_port + 10))

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

ctld_up() { pid_alive "$D/slurmctld.pid" && timeout 5 scontrol ping 2>/dev/null | grep -q UP; }

ensure_munge() {
  if timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; then return; fi
  command -v munged >/dev/null || die "munged not found: apt-get install munge slurm-wlm"
  [ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key missing (reinstall the munge package)"
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "munged did not come up"
}

ensure_mariadb() {
  command -v mariadbd >/dev/null || die "--dbd needs mariadb-server and slurmdbd (apt-get install)"
  local M=$root/mariadb
  if [ -S "$M/mysqld.sock" ] && mariadb --socket="$M/mysqld.sock" -e 'select 1' >/dev/null 2>&1; then
    return
  fi
  mkdir -p "$M"
  chown mysql:mysql "$M"
  if [ ! -d "$M/data/mysql" ]; then
    runuser -u mysql -- mariadb-install-db --datadir="$M/data" --auth-root-authentication-method=socket \
      >"$M/install.log" 2>&1 || die "mariadb-install-db failed; see $M/install.log"
  fi
  # no TCP listener: slurmdbd reaches it through the socket (StorageHost=localhost)
  # detached, stdio closed: a caller reading our stdout (a test fixture) must not wait on it
  setsid runuser -u mysql -- /usr/sbin/mariadbd --datadir="$M/data" --socket="$M/mysqld.sock" \
    --pid-file="$M/mariadbd.pid" --skip-networking --log-error="$M/error.log" \
    </dev/null >/dev/null 2>&1 &
  for _ in $(seq 100); do
    mariadb --socket="$M/mysqld.sock" -e 'select 1' >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "mariadbd did not come up; see $M/error.log"
}

write_conf() {  # writes $1 (slurm.conf candidate)
  local out=$1 last_port=$((first_node_port + nodes - 1))
  local node_gres="" acct="AccountingStorageType=accounting_storage/none"
  [ "$gpus" -gt 0 ] && node_gres=" Gres=gpu:$gpus"
  if [ "$dbd" = 1 ]; then
    acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbd_port
AccountingStorageTRES=gres/gpu"
  fi
  cat >"$out" <<EOF
# written by suanwang scripts/slurm-local.sh for NAME=$name (nodes=$nodes cpus=$cpus mem_mb=$mem_mb gpus=$gpus dbd=$dbd)
ClusterName=$cluster
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MpiDefault=none
SlurmdParameters=config_overrides
DefMemPerCPU=256
ReturnToService=1
SlurmdTimeout=30
MessageTimeout=10
KillWait=5
MinJobAge=30
JobRequeue=1
GresTypes=gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
$acct
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
NodeName=$cluster-n[1-$nodes] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[$first_node_port-$last_port] CPUs=$cpus RealMemory=$mem_mb$node_gres State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

write_gres_conf() {
  if [ "$gpus" -gt 0 ]; then
    # fake GPUs: empty files stand in for /dev/nvidiaN (AutoDetect off): --gres scheduling and
    # CUDA_VISIBLE_DEVICES work, nothing else does
    mkdir -p "$D/fakegpu"
    for g in $(seq 0 $((gpus - 1))); do : >"$D/fakegpu/nvidia$g"; done
    printf 'AutoDetect=off\nNodeName=%s-n[1-%s] Name=gpu File=%s/fakegpu/nvidia[0-%s]\n' \
      "$cluster" "$nodes" "$D" "$((gpus - 1))" >"$D/gres.conf"
  else
    : >"$D/gres.conf"
  fi
}

start_dbd() {
  local M=$root/mariadb db=slurm_acct_${cluster//-/_}
  ensure_mariadb
  if [ "$fresh" = 1 ]; then  # job ids restart at 1: old records must not answer for new jobs
    mariadb --socket="$M/mysqld.sock" -e "drop database if exists $db;"
  fi
  mariadb --socket="$M/mysqld.sock" -e "create database if not exists $db;
    create user if not exists 'slurm'@'localhost' identified by 'slurmpw';
    grant all on $db.* to 'slurm'@'localhost';"
  cat >"$D/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$dbd_port
SlurmUser=root
LogFile=$D/log/slurmdbd.log
PidFile=$D/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=$db
EOF
  # mysql client library reaches a socket-only server when StorageHost=localhost via MYSQL_UNIX_PORT
  chmod 600 "$D/slurmdbd.conf"
  pid_alive "$D/slurmdbd.pid" || MYSQL_UNIX_PORT=$M/mysqld.sock slurmdbd
  for _ in $(seq 100); do
    timeout 5 sacctmgr -n list cluster >/dev/null 2>&1 && break
    sleep 0.1
  done
  timeout 10 sacctmgr -i add cluster "$cluster" >/dev/null 2>&1 || true
}

stop_cluster() {
  if pid_alive "$D/slurmctld.pid"; then
    # end the jobs first: a slurmstepd whose slurmd is gone lingers until KillWait runs out
    timeout 10 scancel --full --user="$(id -un)" >/dev/null 2>&1 || true
    for _ in $(seq 100); do
      [ -z "$(timeout 5 squeue -h -t running,completing,configuring 2>/dev/null)" ] && break
      sleep 0.1
    done
    timeout 10 scontrol shutdown >/dev/null 2>&1 || true
    for _ in $(seq 100); do pid_alive "$D/slurmctld.pid" || break; sleep 0.1; done
  fi
  local f pid
  for f in "$D"/slurmctld.pid "$D"/slurmd-*.pid "$D"/slurmdbd.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  # the shared mariadbd goes when no cluster under this root still runs a slurmdbd
  local M=$root/mariadb other
  if [ -f "$D/slurmdbd.conf" ] && pid_alive "$M/mariadbd.pid"; then
    for other in "$root"/*/slurmdbd.pid; do pid_alive "$other" && return 0; done
    kill "$(cat "$M/mariadbd.pid")" 2>/dev/null || true
  fi
}

status() {
  if ctld_up; then
    echo "cluster $cluster ($name): up; SLURM_CONF=$conf"
    timeout 5 sinfo -N -o '%N %T %c %G' || true
    return 0
  fi
  echo "cluster $cluster ($name): down"
  return 1
}

start() {
  command -v slurmctld >/dev/null || die "slurmctld not found: apt-get install slurm-wlm munge"
  mkdir -p "$D"
  local want=$D/slurm.conf.new
  write_conf "$want"
  if [ "$fresh" = 0 ] && [ -f "$conf" ] && cmp -s "$want" "$conf" && ctld_up \
     && [ "$(timeout 5 sinfo -h -N -o %N | sort -u | wc -l)" = "$nodes" ]; then
    rm -f "$want"
    local down
    down=$(timeout 5 sinfo -h -N -t down,drain,unknown -o %N | sort -u | wc -l)
    echo "$conf"
    [ "$down" = 0 ] || echo "slurm-local: note: $down node(s) down/drained (scontrol update nodename=X state=resume)" >&2
    return 0
  fi
  stop_cluster
  mv "$want" "$conf"
  write_gres_conf
  mkdir -p "$D/state" "$D/log"
  local ctld_flags=(-i)
  if [ "$fresh" = 1 ]; then
    rm -rf "$D/state" "$D/spool"
    mkdir -p "$D/state"
    [ -f "$D/log/jobcomp.txt" ] && mv "$D/log/jobcomp.txt" "$D/log/jobcomp.$(date +%s).txt"
    ctld_flags=(-c -i)
  fi
  for i in $(seq "$nodes"); do mkdir -p "$D/spool/$cluster-n$i"; done
  ensure_munge
  [ "$dbd" = 1 ] && start_dbd
  slurmctld "${ctld_flags[@]}" || die "slurmctld failed to start; see $D/log/slurmctld.log"
  for _ in $(seq 100); do ctld_up && break; sleep 0.1; done
  ctld_up || die "slurmctld did not answer; see $D/log/slurmctld.log"
  for i in $(seq "$nodes"); do
    slurmd -N "$cluster-n$i" || die "slurmd $cluster-n$i failed; see $D/log/slurmd-$cluster-n$i.log"
  done
  for _ in $(seq 200); do
    [ "$(timeout 5 sinfo -h -N -t idle,alloc,mix -o %N | sort -u | wc -l)" = "$nodes" ] && break
    sleep 0.1
  done
  # nodes left DOWN by an earlier run (state is kept unless --fresh): back to service
  timeout 5 scontrol update nodename="$cluster-n[1-$nodes]" state=resume >/dev/null 2>&1 || true
  [ "$(timeout 5 sinfo -h -N -t idle,alloc,mix -o %N | sort -u | wc -l)" = "$nodes" ] \
    || die "not all $nodes nodes came up; see $D/log/"
  echo "$conf"
}

case $cmd in
  start) start ;;
  stop) stop_cluster; echo "cluster $cluster ($name): stopped" >&2 ;;
  status) status ;;
  *) usage ;;
esac
