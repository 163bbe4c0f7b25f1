# The seed's sender.py (../shared/seed), with the receiver's address and the
# message taken from the command line instead of written into the code:
#   python3 sender.py HOST PORT MESSAGE
# send_msg is the seed's, unchanged: two writes, "14\n" then the JSON.
import socket
import json
import sys


def send_msg(conn, msg):
    serialized = json.dumps(msg).encode('utf-8')
    length = str(len(serialized)) + '\n'
    length = length.encode('utf-8')
    conn.send(length)
    conn.sendall(serialized)


s = socket.socket()
print("Socket Created")
s.connect((sys.argv[1], int(sys.argv[2])))
send_msg(s, json.loads(sys.argv[3]))
print("Message Sent!")
s.close()
