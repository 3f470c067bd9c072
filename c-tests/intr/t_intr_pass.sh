# Signals that must still interrupt (SOCKFIX_EINTR_PASS, default
# INT,TERM,QUIT,ALRM), custom pass lists and SOCKFIX_EINTR=off.
# The victim blocks in recv() on a TCP connection whose peer answers only
# after 2 s; handlers are installed without SA_RESTART.  "eintr" means the
# signal interrupted the call as it would without the library; "ok" means
# the call was resumed and the answer arrived after 2 s.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
V=$CT_BIN/intr_victim
[ -x "$V" ] || fail "$V not built"
R="$V -m recv -d 2000 -c 1"

# label|expected|min_ms|max_ms|env...|victim args
cases_wo=(
    "SIGINT at 325 ms|eintr|250|900||-s none -e INT@325"
    "alarm(1)|eintr|900|1600||-s none -A 1"
)
cases_w=(
    "WINCH+HUP storm, SIGINT at 325 ms|eintr|250|900||-s WINCH,HUP -e INT@325"
    "WINCH storm, SIGTERM at 325 ms|eintr|250|900||-s WINCH -e TERM@325"
    "WINCH storm, SIGQUIT at 325 ms|eintr|250|900||-s WINCH -e QUIT@325"
    "WINCH storm, alarm(1)|eintr|900|1600||-s WINCH -A 1"
    "SIGINT via SA_SIGINFO handler|eintr|250|900||-H i -s WINCH -e INT@325"
    "USR1 storm (not passed)|ok|1900|6000||-s USR1"
    "PASS=WINCH, WINCH storm|eintr|0|900|SOCKFIX_EINTR_PASS=WINCH|-s WINCH"
    "PASS=28, WINCH storm|eintr|0|900|SOCKFIX_EINTR_PASS=28|-s WINCH"
    "PASS=HUP,USR1, WINCH storm|ok|1900|6000|SOCKFIX_EINTR_PASS=HUP,USR1|-s WINCH"
    "PASS=HUP,USR1, HUP storm|eintr|0|900|SOCKFIX_EINTR_PASS=HUP,USR1|-s HUP"
    "PASS=HUP,USR1, USR1 storm|eintr|0|900|SOCKFIX_EINTR_PASS=HUP,USR1|-s USR1"
    "PASS=1,10, HUP storm|eintr|0|900|SOCKFIX_EINTR_PASS=1,10|-s HUP"
    "PASS=1,10, WINCH storm|ok|1900|6000|SOCKFIX_EINTR_PASS=1,10|-s WINCH"
    "EINTR=off, WINCH storm|eintr|0|900|SOCKFIX_EINTR=off|-s WINCH"
    "EINTR=0, WINCH storm|eintr|0|900|SOCKFIX_EINTR=0|-s WINCH"
    "EINTR=no, HUP storm|eintr|0|900|SOCKFIX_EINTR=no|-s HUP"
    "EINTR=false, WINCH storm|eintr|0|900|SOCKFIX_EINTR=false|-s WINCH"
    "EINTR=on, WINCH storm|ok|1900|6000|SOCKFIX_EINTR=on|-s WINCH"
)

run_cases() { # with|without case...
    local how=$1 i=0 c label want min max envs args
    shift
    local cs=("$@")
    for c in "${cs[@]}"; do
        IFS='|' read -r label want min max envs args <<<"$c"
        # shellcheck disable=SC2086
        intr_start "$how$i" $how env $envs $R $args
        i=$((i + 1))
    done
    i=0
    for c in "${cs[@]}"; do
        IFS='|' read -r label want min max envs args <<<"$c"
        intr_finish "$how$i"
        if intr_expect "$how$i" "$how lib: $label${envs:+ ($envs)}" "$want" "$min" "$max"; then
            # The passed signal's handler ran (the library must not eat it).
            case $label in
                *SIGINT*) intr_need_hits "$label" INT 1 ;;
                *SIGTERM*) intr_need_hits "$label" TERM 1 ;;
                *SIGQUIT*) intr_need_hits "$label" QUIT 1 ;;
                *"alarm(1)"*) intr_need_hits "$label" ALRM 1 ;;
            esac
        fi
        i=$((i + 1))
    done
}

run_cases without "${cases_wo[@]}"
intr_lib_or_skip
run_cases with "${cases_w[@]}"
intr_done
