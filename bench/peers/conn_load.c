/*
 * A load of one-message connections, fast enough that the receiver and not
 * the client is the bottleneck: TOTAL connections to PORT, CONCURRENT at a
 * time (non-blocking sockets, one epoll loop), each sending the seed's frame
 * `14\n"Hello World!"` in one write, then shutting its side down and waiting
 * for the receiver's end of the connection (EOF). Destinations cycle through
 * SPREAD addresses from HOST up (127.0.0.1, .2, ...; default 1), so that the
 * client ports left in TIME_WAIT do not run out on one address. A connection
 * the receiver has not ended within TIMEOUT seconds (default 5) is closed and
 * counted as timed out (the seed's receiver ends a connection only when it
 * accepts the next one).
 *
 *   conn_load HOST PORT TOTAL CONCURRENT [SPREAD] [TIMEOUT]
 *
 * Prints {"connections","done","failed","timedOut","seconds"} as JSON: done
 * counts connections the receiver ended cleanly, failed those refused, reset
 * or otherwise in error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char FRAME[] = "14\n\"Hello World!\"";

struct slot {
  int fd;
  int connected; /* 0 while connecting, 1 once the frame is sent */
  double since;
};

static struct sockaddr_in base;
static int port, spread = 1, epoll_fd;
static long total, started, done, failed, timed_out;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* Opens the next connection in `s`, or leaves it empty (fd -1) once all are started. */
static void open_next(struct slot *s) {
  s->fd = -1;
  while (started < total) {
    struct sockaddr_in to = base;
    to.sin_addr.s_addr = htonl(ntohl(base.sin_addr.s_addr) + (uint32_t)(started % spread));
    started++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      failed++;
      continue;
    }
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS) {
      close(fd);
      failed++;
      continue;
    }
    struct epoll_event event = {.events = EPOLLOUT, .data.ptr = s};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    s->fd = fd;
    s->connected = 0;
    s->since = now();
    return;
  }
}

static void finish(struct slot *s, long *counter) {
  close(s->fd); /* also leaves the epoll set */
  (*counter)++;
  open_next(s);
}

static void ready(struct slot *s, unsigned events) {
  if (!s->connected) {
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0 || write(s->fd, FRAME, sizeof FRAME - 1) != sizeof FRAME - 1) {
      finish(s, &failed);
      return;
    }
    shutdown(s->fd, SHUT_WR);
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s->fd, &event);
    s->connected = 1;
    return;
  }
  (void)events;
  char sink[512];
  for (;;) {
    ssize_t n = read(s->fd, sink, sizeof sink);
    if (n > 0) continue; /* whatever the receiver says is read and dropped */
    if (n == 0) {
      finish(s, &done);
    } else if (errno != EAGAIN && errno != EINTR) {
      finish(s, &failed);
    }
    return;
  }
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 7) {
    fprintf(stderr, "usage: conn_load HOST PORT TOTAL CONCURRENT [SPREAD] [TIMEOUT]\n");
    return 2;
  }
  base.sin_family = AF_INET;
  port = atoi(argv[2]);
  base.sin_port = htons(port);
  if (inet_pton(AF_INET, argv[1], &base.sin_addr) != 1) {
    fprintf(stderr, "conn_load: not an IPv4 address\n");
    return 2;
  }
  total = atol(argv[3]);
  int concurrent = atoi(argv[4]);
  if (argc > 5) spread = atoi(argv[5]);
  double timeout = argc > 6 ? atof(argv[6]) : 5;
  if (total < 1 || concurrent < 1 || spread < 1) {
    fprintf(stderr, "conn_load: TOTAL, CONCURRENT and SPREAD must be at least 1\n");
    return 2;
  }
  epoll_fd = epoll_create1(0);
  struct slot *slots = calloc((size_t)concurrent, sizeof *slots);
  struct epoll_event *events = calloc((size_t)concurrent, sizeof *events);
  if (slots == NULL || events == NULL) return 1;
  double began = now();
  int active = 0;
  for (int i = 0; i < concurrent; i++) open_next(&slots[i]);
  for (;;) {
    active = 0;
    for (int i = 0; i < concurrent; i++) active += slots[i].fd >= 0;
    if (active == 0) break;
    int n = epoll_wait(epoll_fd, events, concurrent, 100);
    for (int i = 0; i < n; i++) ready(events[i].data.ptr, events[i].events);
    if (n == 0 || started >= total) {
      double t = now();
      for (int i = 0; i < concurrent; i++) {
        if (slots[i].fd >= 0 && t - slots[i].since > timeout) finish(&slots[i], &timed_out);
      }
    }
  }
  printf("{\"connections\":%ld,\"done\":%ld,\"failed\":%ld,\"timedOut\":%ld,\"seconds\":%.3f}\n",
         total, done, failed, timed_out, now() - began);
  return 0;
}
