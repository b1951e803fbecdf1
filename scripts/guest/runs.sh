#!/bin/sh
# runs.sh INCIDENT/VARIANT...: the command `make guest` gives a guest. Each
# selection is one `relapse run` (it takes one incident and one variant),
# recorded as its own run, <RELAPSE_RUN_ID>-<incident>-<variant>, so the
# host gets one results directory per selection. Exit 1 if any was not ok.
rc=0
base=$RELAPSE_RUN_ID
for sel in "$@"; do
  id=${sel%%/*} variant=${sel#*/}
  [ "$id" != "$sel" ] && [ -n "$variant" ] || { echo "runs.sh: '$sel' is not INCIDENT/VARIANT" >&2; rc=2; continue; }
  start=$(date +%s)
  RELAPSE_RUN_ID=$base-$id-$variant bin/relapse run "$id" -variant "$variant" || rc=1
  echo "runs.sh: $sel took $(( $(date +%s) - start ))s"
done
# What the runs left behind in the guest: cgroups (v2: directories below
# the root; a parent such as /docker may stay, empty), processes in them,
# mounts under relapse's temp base. Any process left fails the run.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  left=$(find /sys/fs/cgroup -mindepth 1 -type d | sort)
  echo "runs.sh: cgroups left: ${left:-none}" | tr '\n' ' '; echo
  for d in $left; do
    procs=$(cat "$d/cgroup.procs" 2>/dev/null | tr "\n" " ")
    if [ -n "$procs" ]; then echo "runs.sh: processes left in $d: $procs"; rc=1; fi
  done
fi
echo "runs.sh: mounts left under /tmp/relapse: $(awk '$2 ~ "^/tmp/relapse" {print $2}' /proc/mounts | tr '\n' ' ')"
exit $rc
