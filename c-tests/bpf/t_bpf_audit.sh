# sockfix audit with the eBPF companion attached to a cgroup: a static
# client in that cgroup is protected, covered by "sockfix bpf"; the same
# client in a sibling cgroup is unprotected (static); one in the covered
# cgroup whose peer is outside the companion's SOCKFIX_DEST is unprotected,
# and the reason names the companion and its SOCKFIX_DEST; one connected
# before the companion was attached has no options from it, and the reason
# says so. The audit names the cgroup the companion is attached to. Both
# the table and --json.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"
need python3

bpf_static_client

bpf_cgroups on off
IN=$((BPF_PORTS + 31))
OUT=$((BPF_PORTS + 32))
# Both servers hold their connections for 60 s, then end: so do the
# clients blocked in read (the test's own bound besides the EXIT trap).
bpf_listen $IN
bpf_listen $OUT

# start NAME CG PORT: the static client in cgroup CG, connected to PORT and
# held there; its pid in PID_NAME (sh joins the cgroup, then execs it: the
# pid stays the client's, to be killed by pid).
start() {
    local name=$1 cg=$2 port=$3 i
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$CLIENT" 127.0.0.1 "$port" wait \
        >"$CT_TMP/$name.out" 2>&1 &
    track $!
    printf -v "PID_$name" %s $!
    for i in $(seq 100); do
        grep -qs '^keepalive=' "$CT_TMP/$name.out" && return 0
        sleep 0.05
    done
    fail "client $name did not connect: $(cat "$CT_TMP/$name.out")"
}

# Connected before the companion is attached: the kernel set nothing on it.
start before "$CG_on" $IN

cat >"$CT_TMP/sockfix.conf" <<EOF
SOCKFIX_DEST=127.0.0.1:$IN
EOF
SOCKFIX_CONFIG=$CT_TMP/sockfix.conf "$SFX" bpf enable --cgroup "$CG_on" --keepalive 7,2,3 >"$CT_TMP/enable.out" 2>&1 ||
    fail "enable: $(cat "$CT_TMP/enable.out")"
note "$(cat "$CT_TMP/enable.out")"

start covered "$CG_on" $IN
start sibling "$CG_off" $IN
start outside "$CG_on" $OUT
for c in before covered sibling outside; do note "$c: $(cat "$CT_TMP/$c.out")"; done
expect_opts "$(cat "$CT_TMP/covered.out")" keepalive=1 idle=7
expect_opts "$(cat "$CT_TMP/outside.out")" keepalive=0

timeout 60 "$SFX" audit --json >"$CT_TMP/audit.json"
rc=$?
[ $rc = 1 ] || fail "audit --json: exit $rc, expected 1 (unprotected connections exist)"
timeout 60 "$SFX" audit >"$CT_TMP/audit.txt"
rc=$?
[ $rc = 1 ] || fail "audit: exit $rc, expected 1"

ROOT=$(bpf_cgroup2_root)
python3 - "$CT_TMP/audit.json" "$CT_TMP/audit.txt" "$CG_on" "${CG_on#"$ROOT"}" "$(stat -c %i "$CG_on")" \
    "$PID_before" "$PID_covered" "$PID_sibling" "$PID_outside" <<'EOF' || fail "the audit's verdicts (above)"
import json, sys
doc = json.load(open(sys.argv[1]))
table = open(sys.argv[2]).read().splitlines()
cg_path, cg, cg_id = sys.argv[3], sys.argv[4], sys.argv[5]
pid = dict(zip(["before", "covered", "sibling", "outside"], map(int, sys.argv[6:10])))
bad = []

def row_of(name):
    found = [r for r in doc["connections"] if r["pid"] == pid[name]]
    if len(found) != 1:
        bad.append(f"{name}: {len(found)} rows, expected 1")
        return None
    return found[0]

def text_of(name):
    """The table's line for the connection and its indented lines, joined."""
    at = [i for i, l in enumerate(table) if l.split()[:1] == [str(pid[name])]]
    if len(at) != 1:
        bad.append(f"table: {len(at)} lines for {name}")
        return ""
    lines = [table[at[0]]]
    for l in table[at[0] + 1:]:
        if not l.startswith("        "):
            break
        lines.append(l.strip())
    return " ".join(lines)

companion = f"the eBPF companion on {cg} covers it"
# name: status, label, covered_by, words in the reason (JSON), words in the table
want = {
    "covered": ("protected", None, "sockfix bpf", [], [f"protected by sockfix bpf: the eBPF companion on {cg}"]),
    "sibling": ("unprotected", "static", None, ["static binary"], ["unprotected: static binary"]),
    "outside": ("unprotected", "bpf SOCKFIX_DEST", None,
                ["static binary", f"{companion} but the peer is not in its SOCKFIX_DEST"],
                [f"{companion} but the peer is not in its SOCKFIX_DEST"]),
    "before": ("unprotected", "keepalive off under bpf", None,
               [companion, "made before the companion was attached, or keepalive turned off by the program"],
               ["made before the companion was attached"]),
}
for name, (status, label, by, words, text_words) in want.items():
    r = row_of(name)
    if r is None:
        continue
    got = (r["status"], r["label"], r["covered_by"])
    if got != (status, label, by):
        bad.append(f"{name}: got {got}, expected {(status, label, by)}; reason: {r['reason']}")
    for w in words:
        if w not in (r["reason"] or ""):
            bad.append(f"{name}: reason lacks {w!r}: {r['reason']}")
    if name == "sibling" and "eBPF" in (r["reason"] or ""):
        bad.append(f"sibling: the companion does not cover it: {r['reason']}")
    text = text_of(name)
    for w in text_words:
        if w not in text:
            bad.append(f"table, {name}: lacks {w!r}: {text}")
    print(f"# {name:8} {r['status']:12} {r['keepidle_s']!s:5} {r['reason'] or r['covered_by']}")
covered = row_of("covered")
if covered and (covered["keepalive"], covered["keepidle_s"], covered["keepcnt"]) != (True, 7, 3):
    bad.append(f"covered: keepalive 7,2,3 expected: {covered}")

note = f"eBPF companion attached to: "
mine = f"{cg_path} (cgroup {cg_id})"
if not any(n.startswith(note) and mine in n for n in doc["notes"]):
    bad.append(f"--json notes do not name {mine}: {doc['notes']}")
if not any(l.startswith("note: " + note) and mine in l for l in table):
    bad.append(f"table notes do not name {mine}")
wide = [l for l in table[:-1] if len(l) > 100]
if wide:
    bad.append(f"table: {len(wide)} lines wider than 100 columns: {wide[0]!r}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
grep -E "^note: eBPF|sockfix bpf" "$CT_TMP/audit.txt" | sed 's/^/# /'

# Detached: nothing names the companion any more.
"$SFX" bpf disable --cgroup "$CG_on" >/dev/null 2>&1 || fail "disable"
timeout 60 "$SFX" audit >"$CT_TMP/after.txt"
grep -q "sockfix-test-on-$$" "$CT_TMP/after.txt" && fail "the audit still names the companion after disable: $(grep "sockfix-test-on-$$" "$CT_TMP/after.txt")"
exit 0
