# Runs a command with its stdout sent to a file and prints the command's peak
# resident memory (ru_maxrss, KiB) on this program's stdout when it ends.
# SIGINT and SIGTERM are passed on, so that a receiver that runs until
# interrupted (the seed's) can be stopped and still measured.
#   python3 peak_rss.py OUTPUT_FILE COMMAND [ARG ...]
import resource
import signal
import subprocess
import sys

with open(sys.argv[1], "wb") as out:
    child = subprocess.Popen(sys.argv[2:], stdout=out)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _frame: child.send_signal(s))
    child.wait()
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
