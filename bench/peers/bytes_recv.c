/*
 * The C end of the byte-moving pair: listens on HOST:PORT (default
 * 127.0.0.1), accepts one connection and copies it to standard output in
 * 1 MiB reads and writes, nothing parsed; exits at its end.
 *
 *   bytes_recv PORT [HOST] > OUTPUT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER (1 << 20)

static void write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("bytes_recv: write");
      exit(1);
    }
    data += n;
    length -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: bytes_recv PORT [HOST] > OUTPUT\n");
    return 2;
  }
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  if (inet_pton(AF_INET, argc == 3 ? argv[2] : "127.0.0.1", &address.sin_addr) != 1) {
    fprintf(stderr, "bytes_recv: not an IPv4 address\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(listener, 16) != 0) {
    perror("bytes_recv: listen");
    return 1;
  }
  int s = accept(listener, NULL, NULL);
  if (s < 0) {
    perror("bytes_recv: accept");
    return 1;
  }
  close(listener);
  char *buffer = malloc(BUFFER);
  if (buffer == NULL) return 1;
  for (;;) {
    ssize_t n = read(s, buffer, BUFFER);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("bytes_recv: read");
      return 1;
    }
    if (n == 0) break;
    write_all(1, buffer, (size_t)n);
  }
  close(s);
  return 0;
}
