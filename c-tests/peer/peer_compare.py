"""Compare two JUnit XML files written by CPython's regrtest (--junit-xml).

    python3 peer_compare.py WITHOUT.xml WITH.xml [ONLY-NAMES-FILE]

Every test case gets a status: pass, skip, fail or error (a case with a
<skipped>, <failure> or <error> child). Prints one line per test whose
status differs ("NAME: without=S with=S"), or that ran on one side only,
a line when the number of test files with results differs (a file that
crashed or hung), or when no test ran at all,
then a summary line "compared N tests: D differ (without: P pass, S skip,
F fail, E error; with: ...)". With ONLY-NAMES-FILE only the names listed
there (one a line) are compared. Exit 0 when nothing differs, 1 otherwise,
2 when a file cannot be read. Used by c-tests/peer/peer_lib.sh.
"""
import collections
import sys
import xml.etree.ElementTree as ET


SUITES = {}


def statuses(path):
    out = {}
    root = ET.parse(path).getroot()
    # One <testsuite> per test file that ran to its end: a file that crashed
    # or hung has none.
    SUITES[path] = len(list(root.iter("testsuite")))
    for tc in root.iter("testcase"):
        name = tc.get("name") or "?"
        status = "pass"
        for child in tc:
            if child.tag == "skipped":
                status = "skip"
            elif child.tag == "failure":
                status = "fail"
            elif child.tag == "error":
                status = "error"
        # A name may repeat (a test run twice): the worst result counts.
        order = ["pass", "skip", "fail", "error"]
        if name not in out or order.index(status) > order.index(out[name]):
            out[name] = status
    return out


def counts(d):
    c = collections.Counter(d.values())
    return "%d pass, %d skip, %d fail, %d error" % (c["pass"], c["skip"], c["fail"], c["error"])


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    try:
        a = statuses(sys.argv[1])
        b = statuses(sys.argv[2])
    except (OSError, ET.ParseError) as e:
        print("cannot read the results: %s" % e)
        return 2
    names = set(a) | set(b)
    if len(sys.argv) == 4:
        with open(sys.argv[3]) as f:
            only = {line.strip() for line in f if line.strip()}
        names &= only
    diff = 0
    fa, fb = SUITES[sys.argv[1]], SUITES[sys.argv[2]]
    if fa != fb:
        diff += 1
        print("test files with results: without=%d with=%d" % (fa, fb))
    if not names:
        diff += 1
        print("no test ran")
    for n in sorted(names):
        sa, sb = a.get(n, "absent"), b.get(n, "absent")
        if sa != sb:
            diff += 1
            print("%s: without=%s with=%s" % (n, sa, sb))
    print("compared %d tests: %d differ (without: %s; with: %s)" % (len(names), diff, counts(a), counts(b)))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
