# Runs a command with its stdout sent to a file and, when it ends, prints its
# peak resident memory as the kernel counts it (ru_maxrss, KiB); with --json,
# one JSON line with that peak, the exit code, and whether the command was
# killed for passing the cap. --cap MIB kills
# it (SIGKILL) once its RSS, sampled every 10 ms, passes MIB, so that a receiver
# that grows without bound cannot take a shared machine down with it.
# SIGINT and SIGTERM are passed on, so that a receiver that runs until
# interrupted (the seed's) can be stopped and still measured.
#   python3 peak_rss.py [--json] [--cap MIB] OUTPUT_FILE COMMAND [ARG ...]
import json
import resource
import signal
import subprocess
import sys

args = sys.argv[1:]
as_json = args[0] == "--json"
if as_json:
    args = args[1:]
cap = None
if args[0] == "--cap":
    cap = int(args[1]) * 1024
    args = args[2:]


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


capped = False
with open(args[0], "wb") as out:
    child = subprocess.Popen(args[1:], stdout=out)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _frame: child.send_signal(s))
    while True:
        try:
            code = child.wait(timeout=0.01)
            break
        except subprocess.TimeoutExpired:
            if cap is not None and rss_kib(child.pid) > cap:
                capped = True
                child.kill()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if as_json:
    print(json.dumps({"peak_kib": peak, "code": code, "capped": capped}), flush=True)
else:
    print(peak, flush=True)
