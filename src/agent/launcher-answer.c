/*
 * The native launcher's answers to queries (included by launcher.c, which see: the top comment
 * and spawn-helper.ts, "job's answer"): the answer part of a job, and the response datagram
 * sent when the run exits 0 within its limit. Layout of the datagram: src/wire/datagram-app.ts
 * around src/wire/query.ts's `q-response`; the same bytes as src/net/query.ts
 * `fillResponseDatagram` (test/agent/launcher-answer.test.ts compares them).
 */
static long long now_ms(void);
static void put32(unsigned char *p, uint32_t v);
static uint32_t get32(const unsigned char *p);

/* A query's response, sent by the launcher when the run exits 0 (see `answer`). */
typedef struct {
  struct sockaddr_storage to;
  socklen_t tolen;
  long long deadline;  /* ms (CLOCK_MONOTONIC): not sent after it */
  uint32_t payload_at; /* offset of the payload's length (one byte, 0) in tmpl */
  uint32_t inner_at;   /* offset of the query message in tmpl */
  uint32_t max_bytes;  /* largest datagram */
  unsigned char *tmpl;
  uint32_t len;
} answer_t;

static int udp_fd[2] = {-1, -1}; /* IPv4, IPv6: opened at the first answer of each */

/* CRC-32C (Castagnoli, reflected 0x82F63B78), as src/wire/crc.ts: the response datagram's two
 * checksums. A bytewise table: a response is at most ~1.2 KB. */
static uint32_t crc_table[256];

static uint32_t crc32c(const unsigned char *p, size_t n) {
  if (crc_table[1] == 0) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      crc_table[i] = c;
    }
  }
  uint32_t c = 0xFFFFFFFFu;
  while (n-- > 0) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static void free_answer(answer_t *a) {
  if (a == NULL) return;
  free(a->tmpl);
  free(a);
}

/* The answer part of a job (flags & 4): `N` ms left before the query's deadline, `N` port,
 * `N` payload_at, `N` inner_at, `N` max_bytes, `N/a*` the asker's IP address (text), then the
 * response datagram with an empty payload (the rest). NULL when malformed (the agent answers). */
static answer_t *answer_of(const unsigned char *p, uint32_t n) {
  if (n < 24) return NULL;
  uint32_t left = get32(p), port = get32(p + 4), pat = get32(p + 8), iat = get32(p + 12), max = get32(p + 16), hl = get32(p + 20);
  if (hl > 63 || n < 24 + hl || port == 0 || port > 65535) return NULL;
  char host[64];
  memcpy(host, p + 24, hl);
  host[hl] = '\0';
  const unsigned char *t = p + 24 + hl;
  uint32_t tl = n - 24 - hl;
  /* The template: a length, the datagram's header, the query message (from inner_at) whose
   * payload length (at payload_at) is 0, the message's CRC, the datagram's CRC. */
  if (tl < 16 || iat < 6 || pat <= iat || pat + 1 > tl - 8 || t[pat] != 0 || get32(t) != tl - 4) return NULL;
  answer_t *a = calloc(1, sizeof *a);
  if (a == NULL) abort();
  struct sockaddr_in *v4 = (struct sockaddr_in *)&a->to;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->to;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    a->tolen = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    a->tolen = sizeof *v6;
  } else {
    free(a);
    return NULL;
  }
  a->deadline = now_ms() + left;
  a->payload_at = pat;
  a->inner_at = iat;
  a->max_bytes = max;
  a->len = tl;
  a->tmpl = malloc(tl);
  if (a->tmpl == NULL) abort();
  memcpy(a->tmpl, t, tl);
  return a;
}

/* Send a run's response datagram: its stdout in the template's payload, both checksums and the
 * length redone. 1 when sent; 0 (the agent answers) when the run did not exit 0, printed more
 * than the limit, the query's deadline passed, the datagram would be too large, or the send
 * failed. */
static int answer(const answer_t *a, int status, const unsigned char *out, size_t n, uint32_t limit) {
  if (a == NULL || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 0;
  if (n + 1 > limit || now_ms() > a->deadline) return 0; /* cut: the agent says so */
  unsigned char vl[5];
  size_t vn = 0;
  for (size_t v = n; ; v >>= 7) {
    vl[vn++] = (unsigned char)(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
    if (v < 0x80) break;
  }
  size_t len = a->len - 1 + vn + n;
  if (len > a->max_bytes) return 0;
  unsigned char *d = malloc(len);
  if (d == NULL) abort();
  size_t k = a->payload_at;
  memcpy(d, a->tmpl, k);
  memcpy(d + k, vl, vn);
  k += vn;
  if (n > 0) memcpy(d + k, out, n);
  k += n;
  memcpy(d + k, a->tmpl + a->payload_at + 1, a->len - 8 - (a->payload_at + 1));
  k += a->len - 8 - (a->payload_at + 1);
  put32(d, (uint32_t)(len - 4));
  put32(d + k, crc32c(d + a->inner_at, k - a->inner_at));
  k += 4;
  put32(d + k, crc32c(d + 4, k - 4));
  int v6 = a->to.ss_family == AF_INET6;
  if (udp_fd[v6] < 0) udp_fd[v6] = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ssize_t w = udp_fd[v6] < 0 ? -1 : sendto(udp_fd[v6], d, len, 0, (struct sockaddr *)&a->to, a->tolen);
  free(d);
  return w == (ssize_t)len;
}
