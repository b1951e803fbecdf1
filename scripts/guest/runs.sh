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
exit $rc
