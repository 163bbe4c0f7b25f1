/*
 * A C receiver of framecat's wire format, the anchor for `receive --json`'s
 * own work on small messages: listens on HOST:PORT (IPv4, default 127.0.0.1),
 * accepts one connection, and for each frame `<decimal length>\n<payload>`
 * checks what `receive --json` checks (a length of digits, at most 64 MiB;
 * a payload of valid UTF-8 that is one valid JSON text) and prints
 *
 *   {"peer":"IP:PORT","bytes":N,"message":<payload>}
 *
 * (the payload's own bytes; a payload with line breaks, which JSON allows
 * only as whitespace outside strings, is printed without them). Reads and
 * output go through 1 MiB buffers. Exits 0 at the connection's end, 1 on a
 * frame it refuses (said on stderr).
 *
 *   frame_recv PORT [HOST] > OUTPUT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER (1 << 20)
#define MAX_BYTES (64 << 20)
#define MAX_DEPTH 1000

typedef const unsigned char *cursor;

static void refuse(const char *why) {
  fprintf(stderr, "frame_recv: %s\n", why);
  exit(1);
}

// ------------------------------------------------------------ the JSON check

static cursor value(cursor p, cursor end, int depth);

static cursor whitespace(cursor p, cursor end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

static int is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_continuation(unsigned char c) { return c >= 0x80 && c <= 0xBF; }

/* One UTF-8 sequence of 2 to 4 bytes at p (whose first byte is >= 0x80). */
static cursor utf8(cursor p, cursor end) {
  unsigned char c = p[0];
  int more;
  unsigned char low = 0x80, high = 0xBF; /* the range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) more = 1;
  else if (c == 0xE0) more = 2, low = 0xA0;
  else if (c >= 0xE1 && c <= 0xEF) more = 2, high = c == 0xED ? 0x9F : 0xBF;
  else if (c == 0xF0) more = 3, low = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) more = 3;
  else if (c == 0xF4) more = 3, high = 0x8F;
  else return NULL;
  if (end - p <= more || p[1] < low || p[1] > high) return NULL;
  for (int i = 2; i <= more; i++) {
    if (!is_continuation(p[i])) return NULL;
  }
  return p + 1 + more;
}

/* A string; p is just past its opening quote. */
static cursor string(cursor p, cursor end) {
  while (p < end) {
    unsigned char c = *p;
    if (c == '"') return p + 1;
    if (c >= 0x20 && c < 0x80 && c != '\\') {
      p++;
    } else if (c == '\\') {
      if (end - p < 2) return NULL;
      unsigned char e = p[1];
      if (e == 'u') {
        if (end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) || !is_hex(p[5])) {
          return NULL;
        }
        p += 6;
      } else if (strchr("\"\\/bfnrt", e) != NULL && e != 0) {
        p += 2;
      } else {
        return NULL;
      }
    } else if (c < 0x20) {
      return NULL;
    } else if ((p = utf8(p, end)) == NULL) {
      return NULL;
    }
  }
  return NULL;
}

static cursor digits(cursor p, cursor end) {
  cursor start = p;
  while (p < end && *p >= '0' && *p <= '9') p++;
  return p > start ? p : NULL;
}

static cursor number(cursor p, cursor end) {
  if (p < end && *p == '-') p++;
  if (p < end && *p == '0') p++;
  else if ((p = digits(p, end)) == NULL) return NULL;
  if (p < end && *p == '.' && (p = digits(p + 1, end)) == NULL) return NULL;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if ((p = digits(p, end)) == NULL) return NULL;
  }
  return p;
}

static cursor literal(cursor p, cursor end, const char *word) {
  size_t n = strlen(word);
  return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* The members of an object or the elements of an array; p is past the bracket. */
static cursor members(cursor p, cursor end, int depth, int object) {
  unsigned char close = object ? '}' : ']';
  p = whitespace(p, end);
  if (p < end && *p == close) return p + 1;
  for (;;) {
    if (object) {
      if (p >= end || *p != '"' || (p = string(p + 1, end)) == NULL) return NULL;
      p = whitespace(p, end);
      if (p >= end || *p != ':') return NULL;
      p = whitespace(p + 1, end);
    }
    if ((p = value(p, end, depth + 1)) == NULL) return NULL;
    p = whitespace(p, end);
    if (p < end && *p == ',') {
      p = whitespace(p + 1, end);
    } else if (p < end && *p == close) {
      return p + 1;
    } else {
      return NULL;
    }
  }
}

static cursor value(cursor p, cursor end, int depth) {
  if (p >= end || depth > MAX_DEPTH) return NULL;
  switch (*p) {
  case '"': return string(p + 1, end);
  case '{': return members(p + 1, end, depth, 1);
  case '[': return members(p + 1, end, depth, 0);
  case 't': return literal(p, end, "true");
  case 'f': return literal(p, end, "false");
  case 'n': return literal(p, end, "null");
  default: return number(p, end);
  }
}

/* Whether the payload is UTF-8 and one JSON text (bytes >= 0x80 can only be inside strings). */
static int valid_json(cursor p, size_t length) {
  cursor end = p + length;
  p = value(whitespace(p, end), end, 0);
  return p != NULL && whitespace(p, end) == end;
}

// ------------------------------------------------------------ output

static char out[BUFFER];
static size_t out_used;

static void write_all(const void *data, size_t length) {
  const char *at = data;
  while (length > 0) {
    ssize_t n = write(1, at, length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("frame_recv: write");
      exit(1);
    }
    at += n;
    length -= (size_t)n;
  }
}

static void flush(void) {
  write_all(out, out_used);
  out_used = 0;
}

static void put(const void *data, size_t length) {
  if (length > sizeof out - out_used) flush();
  if (length > sizeof out) {
    write_all(data, length);
  } else {
    memcpy(out + out_used, data, length);
    out_used += length;
  }
}

/* The payload's bytes without CR and LF (whitespace outside strings, as it is valid JSON). */
static void put_without_line_breaks(cursor p, size_t length) {
  cursor end = p + length;
  while (p < end) {
    cursor stop = p;
    while (stop < end && *stop != '\n' && *stop != '\r') stop++;
    put(p, (size_t)(stop - p));
    p = stop + 1;
  }
}

/* `{"peer":"IP:PORT","bytes":`, the same for every line of the connection. */
static char head[96];
static size_t head_length;

static void print(cursor payload, size_t length) {
  char line[128], digits[24];
  int n = 0;
  size_t rest = length;
  do digits[n++] = (char)('0' + rest % 10);
  while ((rest /= 10) > 0);
  memcpy(line, head, head_length);
  size_t at = head_length;
  while (n > 0) line[at++] = digits[--n];
  memcpy(line + at, ",\"message\":", 11);
  put(line, at + 11);
  if (memchr(payload, '\n', length) != NULL || memchr(payload, '\r', length) != NULL) {
    put_without_line_breaks(payload, length);
  } else {
    put(payload, length);
  }
  put("}\n", 2);
}

// ------------------------------------------------------------ frames

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: frame_recv PORT [HOST] > OUTPUT\n");
    return 2;
  }
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  if (inet_pton(AF_INET, argc == 3 ? argv[2] : "127.0.0.1", &address.sin_addr) != 1) {
    refuse("not an IPv4 address");
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(listener, 16) != 0) {
    perror("frame_recv: listen");
    return 1;
  }
  struct sockaddr_in from;
  socklen_t from_length = sizeof from;
  int s = accept(listener, (struct sockaddr *)&from, &from_length);
  if (s < 0) {
    perror("frame_recv: accept");
    return 1;
  }
  close(listener);
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
  head_length = (size_t)snprintf(head, sizeof head, "{\"peer\":\"%s:%u\",\"bytes\":", ip,
                                 ntohs(from.sin_port));

  size_t capacity = BUFFER, start = 0, end = 0;
  unsigned char *buffer = malloc(capacity);
  if (buffer == NULL) refuse("out of memory");
  for (;;) {
    /* Every whole frame in buffer[start, end). */
    size_t wanted = 0; /* the size of the incomplete frame at start, once known */
    while (start < end) {
      unsigned char *lf = memchr(buffer + start, '\n', end - start);
      if (lf == NULL) {
        if (end - start > 20) refuse("a length prefix of over 20 bytes");
        break;
      }
      size_t length = 0, at = start;
      if (buffer + at == lf) refuse("an empty length prefix");
      for (; buffer + at < lf; at++) {
        if (buffer[at] < '0' || buffer[at] > '9') refuse("a length prefix that is not digits");
        length = length * 10 + (buffer[at] - '0');
        if (length > MAX_BYTES) refuse("a frame over 64 MiB");
      }
      size_t payload = at + 1;
      if (end - payload < length) {
        wanted = payload + length - start;
        break;
      }
      if (!valid_json(buffer + payload, length)) refuse("a payload that is not UTF-8 JSON");
      print(buffer + payload, length);
      start = payload + length;
    }
    if (start == end) start = end = 0;
    if (wanted > capacity) {
      capacity = wanted;
      unsigned char *bigger = malloc(capacity);
      if (bigger == NULL) refuse("out of memory");
      memcpy(bigger, buffer + start, end - start);
      free(buffer);
      buffer = bigger;
      end -= start;
      start = 0;
    } else if (start > 0 && capacity - end < BUFFER / 2) {
      memmove(buffer, buffer + start, end - start);
      end -= start;
      start = 0;
    }
    ssize_t n = read(s, buffer + end, capacity - end);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("frame_recv: read");
      return 1;
    }
    if (n == 0) break;
    end += (size_t)n;
  }
  flush();
  if (start != end) refuse("the connection ended inside a frame");
  close(s);
  return 0;
}
