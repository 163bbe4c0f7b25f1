# The stop-and-wait client of the --ack benchmark: over one connection, sends
# a frame, waits for the receiver's {"ack":N} frame, and repeats, N times.
# Prints {"round_trips": N, "seconds": S} (from the first send to the last ack).
#   python3 ack_client.py HOST PORT N
import json
import socket
import sys
import time

host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
replies = s.makefile("rb")
started = time.perf_counter()
for n in range(1, total + 1):
    payload = json.dumps("message %d" % n).encode()
    s.sendall(b"%d\n%s" % (len(payload), payload))
    length = int(replies.readline())
    ack = json.loads(replies.read(length))
    if ack != {"ack": n}:
        sys.exit("expected ack %d, got %r" % (n, ack))
elapsed = time.perf_counter() - started
s.close()
print(json.dumps({"round_trips": total, "seconds": elapsed}))
