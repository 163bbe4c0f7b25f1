# The seed's receiver.py (../shared/seed), with the address to listen on
# taken from the command line (port 0: the system chooses) and stdout flushed
# per line so that a test can read it. BACKLOG is the seed's listen(0) unless
# given (the benchmark raises it to 128: as written the seed stalls under load):
#   python3 receiver.py HOST PORT [BACKLOG]
# get_message is the seed's, unchanged: one message per connection.
import socket
import json
import sys


def get_message(conn):
    length_str = b''
    char = conn.recv(1)
    while char != b'\n':
        length_str += char
        char = conn.recv(1)
    total = int(length_str)
    off = 0
    msg = b''
    while off < total:
        temp = conn.recv(total - off)
        off = off + len(temp)
        msg = msg + temp
    return json.loads(msg.decode('utf-8'))


s = socket.socket()
print("Socket Created", flush=True)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
print("Host ", sys.argv[1], " is listening on ", s.getsockname()[1], flush=True)
try:
    while True:
        conn, addr = s.accept()
        print("Got connection form ", addr, flush=True)
        message = get_message(conn)
        print("Message from Sender :: ", message, flush=True)
except KeyboardInterrupt:
    print("Socket Closed!")
    s.close()
