#!/bin/sh
# runs.sh RELAPSE-RUN-ARGS...: the command the guest targets give a guest,
# e.g. `runs.sh -label guest`. One `relapse run` of that plan selection (one
# results directory, RELAPSE_RUN_ID), then what the runs left behind in the
# guest. Exit 1 if a run was not ok or a process was left.
rc=0
start=$(date +%s)
bin/relapse run "$@" || rc=1
echo "runs.sh: relapse run $* took $(( $(date +%s) - start ))s"
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
