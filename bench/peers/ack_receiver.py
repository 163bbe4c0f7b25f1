# The Python peer of framecat's `receive --ack`: for each frame, checks it is
# UTF-8 and JSON, prints it as `receive --json` does and flushes, then answers
# with the frame {"ack":N}. Serves one connection at a time.
#   python3 ack_receiver.py HOST PORT COUNT   (exits once COUNT are printed)
import json
import socket
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
server = socket.create_server((host, port))
out = sys.stdout.buffer
printed = 0
while printed < count:
    conn, addr = server.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frames = conn.makefile("rb")
    peer = "%s:%d" % addr[:2]
    n = 0
    while printed < count:
        prefix = frames.readline()
        if not prefix:
            break
        payload = frames.read(int(prefix))
        text = payload.decode("utf-8")
        value = json.loads(text)
        if "\n" in text or "\r" in text:
            text = json.dumps(value, separators=(",", ":"))
        out.write(b'{"peer":"%s","bytes":%d,"message":%s}\n' % (peer.encode(), len(payload), text.encode()))
        out.flush()
        n += 1
        printed += 1
        ack = b'{"ack":%d}' % n
        conn.sendall(b"%d\n%s" % (len(ack), ack))
    conn.close()
