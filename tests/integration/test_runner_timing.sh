#!/bin/bash
# Where the time goes: `mer run` ends with the task-seconds of each stage and the engine in use, and
# results.h5 stores them (/meta/time/{stage,task_seconds,tasks}, /meta/engine) consistently with /tasks.
source "$MER_SRC/tests/integration/runner_common.sh"
MER_TEST_TASK_MS=20 run_mer "$T/out" 2 || fail "run: $(tail -3 "$T/log")"
line=$(grep "task-seconds per stage:" "$T/log") || fail "no time line: $(tail -3 "$T/log")"
grep -q "prep [0-9.]* s (24 tasks" <<<"$line" || fail "prep tasks: $line"
grep -q "features [0-9.]* s (12 tasks" <<<"$line" || fail "features tasks: $line"
grep -q "train [0-9.]* s (16 tasks" <<<"$line" || fail "train tasks: $line"
grep -q "engine: .*thread" <<<"$line" || fail "no engine: $line"
h5=$T/out/results.h5
[ "$(h5dump -d /meta/time/stage "$h5" | grep -o '"[a-z]*"' | tr -d '"' | tr '\n' ' ')" = "prep features train " ] ||
    fail "stage names: $(h5dump -d /meta/time/stage "$h5")"
tasks=$(h5dump -d /meta/time/tasks "$h5" | sed -n 's/.*(0): \(.*\)/\1/p' | tr -d ' ')
[ "$tasks" = "24,12,16" ] || fail "/meta/time/tasks: $tasks"
h5dump -d /meta/engine "$h5" | grep -q "kernels" || fail "/meta/engine: $(h5dump -d /meta/engine "$h5")"
# the stored sums equal the per-task wall times of /tasks
sum_of() { h5dump -d "$1" -y -w 0 -o "$T/values" "$h5" >/dev/null && tr ', ' '\n\n' <"$T/values" | awk 'NF {s+=$1} END {printf "%.3f", s}'; }
sum_tasks=$(sum_of /tasks/wall_s)
sum_time=$(sum_of /meta/time/task_seconds)
awk -v a="$sum_tasks" -v b="$sum_time" 'BEGIN { exit !(a > 0.9 && (a - b) < 1e-3 && (b - a) < 1e-3) }' ||
    fail "task seconds: /meta/time sums to $sum_time, /tasks/wall_s to $sum_tasks (52 tasks x 20 ms at least)"
echo "OK: time per stage printed and stored ($line)"
