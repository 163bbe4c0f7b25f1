/*
 * The C end of the byte-moving pair: standard input to a TCP connection, in
 * 1 MiB reads and writes, nothing parsed. At end of input it shuts its side
 * down and waits for the receiver to close (as `nc -N` does), so that it ends
 * only once the other end has everything.
 *
 *   bytes_send HOST PORT < INPUT
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER (1 << 20)

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *found;
  int error = getaddrinfo(host, port, &hints, &found);
  if (error != 0) {
    fprintf(stderr, "bytes_send: %s: %s\n", host, gai_strerror(error));
    exit(1);
  }
  for (struct addrinfo *a = found; a != NULL; a = a->ai_next) {
    int s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (s < 0) continue;
    if (connect(s, a->ai_addr, a->ai_addrlen) == 0) {
      freeaddrinfo(found);
      return s;
    }
    close(s);
  }
  perror("bytes_send: connect");
  exit(1);
}

static void write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("bytes_send: write");
      exit(1);
    }
    data += n;
    length -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bytes_send HOST PORT < INPUT\n");
    return 2;
  }
  int s = connect_to(argv[1], argv[2]);
  char *buffer = malloc(BUFFER);
  if (buffer == NULL) return 1;
  for (;;) {
    ssize_t n = read(0, buffer, BUFFER);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("bytes_send: read");
      return 1;
    }
    if (n == 0) break;
    write_all(s, buffer, (size_t)n);
  }
  shutdown(s, SHUT_WR);
  while (read(s, buffer, BUFFER) > 0) {
  }
  close(s);
  return 0;
}
