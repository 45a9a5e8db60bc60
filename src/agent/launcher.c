/*
 * The handler launcher in C (dist/rumor-launcher, built by scripts/build-launcher.mjs when a C
 * compiler is present): the same process, protocol and semantics as the perl launcher in
 * spawn-helper.ts (read its module comment first), with one difference in how a run starts:
 * posix_spawn(3) instead of fork(2) + exec. glibc's posix_spawn clones with CLONE_VM |
 * CLONE_VFORK: no copy of the launcher's page tables, no copy-on-write faults in the launcher
 * or in the child before its exec, and the launcher learns the exec's outcome from the call's
 * return value (no exec-status pipe). Measured on this project's 2-core VM (2,000 runs of the
 * cluster bench's `#!/bin/sh` query handler, stdout and stderr piped, load 28-31): perl fork +
 * exec 0.20-0.22 ms of the launcher's CPU and 1.13-1.17 ms of the child's per run, posix_spawn
 * (python's os.posix_spawn, the same glibc call) 0.08-0.10 and 0.86-0.88 ms.
 *
 * Semantics kept (test/agent/spawn-helper.test.ts runs both launchers against a direct spawn):
 * own session and process group (POSIX_SPAWN_SETSID), SIGPIPE and SIGCHLD back to their
 * defaults and no signal blocked, environment = the launcher's plus the run's variables (which
 * win), stdin from a pipe filled before the start (/dev/null when empty, an unlinked temporary
 * file above 64 KiB), stdout /dev/null or a pipe kept to its limit plus one byte, stderr a pipe
 * kept to 4096 + 1 bytes, argv[0] the file, a file without `#!` run by /bin/sh (execvp's
 * ENOEXEC fallback, which glibc's posix_spawn no longer does), exec errors reported with their
 * errno. Every descriptor of the launcher is close-on-exec: a run gets its 0, 1 and 2 only.
 *
 * A run's pipes are not watched during its first QUIET_MS: its output is read when it exits
 * (SIGCHLD), so a short run wakes the launcher twice (its job, its exit) instead of once more
 * for each write the launcher happens to be scheduled between (the query handler's `echo`
 * before its exit: 3.2 wake-ups per run at N = 50, h28q). A run still going after QUIET_MS, or
 * whose pipes stay open after its exit (a background grandchild holds them), is watched as
 * before. What this changes for a handler: output of more than a pipe's 64 KiB within its
 * first QUIET_MS waits (the child blocks in write) until QUIET_MS is up; all of it is kept or
 * dropped to its limit as before.
 *
 * Only here (perl ignores it): a query's job may carry its answer (spawn-helper.ts, "job's
 * answer"): the response datagram without its payload and the asker's address. When the run
 * exits 0 with stdout within its limit, before the query's deadline, `answer` sends the
 * datagram with the stdout as its payload from a UDP socket of this process and the report is
 * `A` instead of `X` (launcher-answer.c); it is held back ANSWER_REPORT_DELAY_MS, sent earlier when the
 * agent asks (flush, or a kill of the run), and before the launcher exits. Why: the response
 * no longer waits for the agent to be scheduled, and the agent's wake-up for the report falls
 * after the query's window at the asker (docs/results.md, h31q).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ERR_LIMIT 4096
#define PIPE_FILL 65536
/* How long a run's pipes are left unwatched (see the top comment). Own choice: longer than a
 * short handler takes under load (the cluster bench's query handler: 10-80 ms from its spawn to
 * its exit on 2 busy cores, h28q), short enough that a handler printing more than 64 KiB at
 * once is held up only briefly. */
#define QUIET_MS 200
/* How long an `A` report (the run's answer was sent here) is held back, so that the agent's
 * wake-up for it falls after the query's window at the asker (spawn-helper.ts). Own choice:
 * longer than a query at N = 50 takes from a responder's answer to the asker's summary on 2
 * busy cores (the window is 70-85 ms in all, h30q), short against a handler's timeout; a run
 * the agent needs the slot of is flushed at once (flush message). */
#define ANSWER_REPORT_DELAY_MS 150

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

#include "launcher-answer.c"

typedef struct run {
  uint32_t id;
  answer_t *answer; /* NULL: the agent answers */
  pid_t pid;
  int fd[2];         /* stdout (-1: none), stderr pipes still open */
  uint32_t limit[2]; /* bytes kept of each, plus one */
  buf_t out[2];
  int status;
  int exited;
  long long quiet_until; /* ms (CLOCK_MONOTONIC): pipes unwatched until then; 0: watched */
  struct run *next;
} run_t;

static run_t *runs = NULL;

/* An `A` report held back ANSWER_REPORT_DELAY_MS (see the top comment). */
typedef struct held {
  uint32_t id, status;
  buf_t d;
  long long due;
  struct held *next;
} held_t;
static held_t *held = NULL, **held_tail = &held;
static long long defer_ms = 0;
static void flush_held(int all);
static int sigpipe_fd[2];
static int null_r, null_w;
static volatile sig_atomic_t reaped = 0;

static void die_quietly(void) { _exit(0); }

static void buf_add(buf_t *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t c = b->cap ? b->cap : 256;
    while (c < b->len + n) c *= 2;
    b->p = realloc(b->p, c);
    if (b->p == NULL) abort();
    b->cap = c;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void write_all(const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(1, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die_quietly(); /* the agent is gone */
    c += w;
    n -= (size_t)w;
  }
}

/* A report: `N` length, `C` type, `N` id, `N` value, then the data parts, each `N/a*` when
 * `framed`, else raw. Header and data leave in one writev: one system call, and a report of up
 * to PIPE_BUF bytes (a query's answer, ~40 bytes at the cluster bench) reaches the agent whole.
 * With a write for each, an agent woken by the header (the scheduler may run it before the
 * launcher's second write) read a part and woke again for the rest. A partial writev (a report
 * larger than the pipe's free room) goes on with write_all. */
static void report(char type, uint32_t id, uint32_t value, const char *data, size_t n) {
  unsigned char h[17];
  put32(h, 1 + 4 + 4 + 4 + (uint32_t)n);
  h[4] = (unsigned char)type;
  put32(h + 5, id);
  put32(h + 9, value);
  put32(h + 13, (uint32_t)n);
  struct iovec v[2] = {{h, sizeof h}, {(void *)data, n}};
  ssize_t w;
  do w = writev(1, v, n > 0 ? 2 : 1);
  while (w < 0 && errno == EINTR);
  if (w < 0) die_quietly(); /* the agent is gone */
  size_t done = (size_t)w;
  if (done < sizeof h) {
    write_all(h + done, sizeof h - done);
    done = sizeof h;
  }
  if (done - sizeof h < n) write_all(data + (done - sizeof h), n - (done - sizeof h));
}

static void fail(uint32_t id, int err, const char *what) {
  char msg[256];
  int n = snprintf(msg, sizeof msg, "%s%s", what, strerror(err));
  report('F', id, (uint32_t)err, msg, n < 0 ? 0 : (size_t)n);
}

static void on_chld(int sig) {
  (void)sig;
  int e = errno;
  reaped = 1;
  ssize_t w = write(sigpipe_fd[1], "x", 1);
  (void)w;
  errno = e;
}

/* The read end of the run's stdin: /dev/null, a filled pipe, or an unlinked temporary file. */
static int stdin_of(const unsigned char *data, size_t n) {
  if (n == 0) return null_r;
  int p[2];
  if (n <= PIPE_FILL && pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
    ssize_t w = write(p[1], data, n);
    close(p[1]);
    if (w == (ssize_t)n) {
      fcntl(p[0], F_SETFL, 0);
      return p[0];
    }
    close(p[0]);
  }
  const char *dir = getenv("TMPDIR");
  int fd = open(dir != NULL && *dir != '\0' ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  for (size_t off = 0; off < n;) {
    ssize_t w = write(fd, data + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { close(fd); return -1; }
    off += (size_t)w;
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/* The run's environment: the launcher's, minus the keys the run sets, then the run's. */
static char **env_of(char **vars, uint32_t nvars) {
  size_t base = 0;
  while (environ[base] != NULL) base++;
  char **env = malloc((base + nvars + 1) * sizeof *env);
  if (env == NULL) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < base; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t klen = eq == NULL ? strlen(environ[i]) : (size_t)(eq - environ[i]);
    int shadowed = 0;
    for (uint32_t j = 0; j < nvars && !shadowed; j++) shadowed = strncmp(vars[j], environ[i], klen) == 0 && vars[j][klen] == '=';
    if (!shadowed) env[k++] = environ[i];
  }
  for (uint32_t j = 0; j < nvars; j++) env[k++] = vars[j];
  env[k] = NULL;
  return env;
}

static int spawn_run(pid_t *pid, char **argv, char **env, int in, int out, int err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in, 0);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &defaults);
  int rc = posix_spawn(pid, argv[0], &fa, &at, argv, env);
  if (rc == ENOEXEC) {
    /* No `#!`: run it with /bin/sh, as execvp does. */
    size_t n = 0;
    while (argv[n] != NULL) n++;
    char **sh = malloc((n + 2) * sizeof *sh);
    if (sh != NULL) {
      sh[0] = "/bin/sh";
      memcpy(sh + 1, argv, (n + 1) * sizeof *sh);
      rc = posix_spawn(pid, "/bin/sh", &fa, &at, sh, env);
      free(sh);
    }
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return rc;
}

/* Read one `N/a*` string at *p of a message ending at end; NULL when it does not fit. */
static const unsigned char *take(const unsigned char **p, const unsigned char *end, uint32_t *len) {
  if (end - *p < 4) return NULL;
  *len = get32(*p);
  if ((size_t)(end - *p - 4) < *len) return NULL;
  const unsigned char *s = *p + 4;
  *p += 4 + *len;
  return s;
}

static char *dupz(const unsigned char *s, uint32_t n) {
  char *c = malloc((size_t)n + 1);
  if (c == NULL) abort();
  memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

static void start(const unsigned char *m, uint32_t len) {
  if (len < 5) return;
  uint32_t id = get32(m);
  unsigned flags = m[4];
  if (flags & 8) {
    flush_held(1);
    return;
  }
  if (flags & 2) {
    /* Its process group, even when its leader is gone and something it started holds a pipe. */
    int found = 0;
    for (run_t *r = runs; r != NULL; r = r->next)
      if (r->id == id) found = 1, kill(-r->pid, SIGKILL);
    if (!found) flush_held(1); /* its report may be held: the agent is waiting for it */
    return;
  }
  uint32_t limit = len >= 17 ? get32(m + 5) : 0, na = len >= 17 ? get32(m + 9) : 0, ne = len >= 17 ? get32(m + 13) : 0;
  if (len < 17 || na > len || ne > len) {
    fail(id, EINVAL, "job: ");
    return;
  }
  const unsigned char *p = m + 17, *end = m + len;
  char **argv = calloc((size_t)na + 2, sizeof *argv);
  char **vars = calloc((size_t)ne + 1, sizeof *vars);
  if (argv == NULL || vars == NULL) abort();
  uint32_t n = 0, i;
  const unsigned char *s = take(&p, end, &n);
  int ok = s != NULL;
  if (ok) argv[0] = dupz(s, n);
  for (i = 0; ok && i < na; i++) ok = (s = take(&p, end, &n)) != NULL && (argv[i + 1] = dupz(s, n)) != NULL;
  for (i = 0; ok && i < ne; i++) ok = (s = take(&p, end, &n)) != NULL && (vars[i] = dupz(s, n)) != NULL;
  const unsigned char *data = ok && p < end ? take(&p, end, &n) : NULL;
  uint32_t dlen = data == NULL ? 0 : n;
  const unsigned char *ans = data != NULL && (flags & 5) == 5 && p < end ? take(&p, end, &n) : NULL;
  answer_t *answer_to = ans == NULL ? NULL : answer_of(ans, n);
  int in = -1, ep[2] = {-1, -1}, op[2] = {-1, -1}, spawned = 0;
  char **env = NULL;
  if (!ok) {
    fail(id, EINVAL, "job: ");
  } else if ((in = stdin_of(data, dlen)) < 0) {
    fail(id, errno, "stdin: ");
  } else if (pipe2(ep, O_CLOEXEC) != 0 || ((flags & 1) && pipe2(op, O_CLOEXEC) != 0)) {
    fail(id, errno, "pipe: ");
  } else if ((env = env_of(vars, ne)) == NULL) {
    fail(id, ENOMEM, "env: ");
  } else {
    pid_t pid;
    int rc = spawn_run(&pid, argv, env, in, (flags & 1) ? op[1] : null_w, ep[1]);
    if (rc != 0) {
      fail(id, rc, "");
    } else {
      run_t *r = calloc(1, sizeof *r);
      if (r == NULL) abort();
      r->id = id;
      r->pid = pid;
      r->answer = answer_to;
      answer_to = NULL;
      r->fd[0] = op[0];
      r->fd[1] = ep[0];
      r->limit[0] = limit + 1;
      r->limit[1] = ERR_LIMIT + 1;
      r->quiet_until = now_ms() + QUIET_MS;
      fcntl(ep[0], F_SETFL, O_NONBLOCK);
      if (op[0] >= 0) fcntl(op[0], F_SETFL, O_NONBLOCK);
      r->next = runs;
      runs = r;
      spawned = 1;
    }
  }
  /* The child has its copies of the write ends (or there is no child). */
  if (ep[1] >= 0) close(ep[1]);
  if (op[1] >= 0) close(op[1]);
  if (!spawned && ep[0] >= 0) close(ep[0]);
  if (!spawned && op[0] >= 0) close(op[0]);
  if (in >= 0 && in != null_r) close(in);
  free(env);
  free_answer(answer_to);
  for (i = 0; i <= na; i++) free(argv[i]);
  for (i = 0; i < ne; i++) free(vars[i]);
  free(argv);
  free(vars);
}

/* Send the held reports (all when `all`, else those due). */
static void flush_held(int all) {
  long long now = all ? 0 : now_ms();
  while (held != NULL && (all || held->due <= now)) {
    held_t *h = held;
    held = h->next;
    if (held == NULL) held_tail = &held;
    report('A', h->id, h->status, h->d.p, h->d.len);
    free(h->d.p);
    free(h);
  }
}

/* Report and forget a run whose pipes are closed and whose status is known: 1 when it did (r is
 * freed). */
static int done(run_t *r) {
  if (r->fd[0] >= 0 || r->fd[1] >= 0 || !r->exited) return 0;
  buf_t d = {0};
  unsigned char l[4];
  for (int k = 0; k < 2; k++) {
    put32(l, (uint32_t)r->out[k].len);
    buf_add(&d, l, 4);
    if (r->out[k].len > 0) buf_add(&d, r->out[k].p, r->out[k].len);
  }
  int sent = answer(r->answer, r->status, (const unsigned char *)r->out[0].p, r->out[0].len, r->limit[0]);
  if (sent && defer_ms > 0) {
    held_t *h = calloc(1, sizeof *h);
    if (h == NULL) abort();
    h->id = r->id;
    h->status = (uint32_t)r->status;
    h->d = d;
    h->due = now_ms() + defer_ms;
    *held_tail = h;
    held_tail = &h->next;
  } else {
    report(sent ? 'A' : 'X', r->id, (uint32_t)r->status, d.p, d.len);
    free(d.p);
  }
  free_answer(r->answer);
  for (run_t **pp = &runs; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  }
  free(r->out[0].p);
  free(r->out[1].p);
  free(r);
  return 1;
}

/* Read what a run's pipe holds, its end included; keep up to the limit. 1 when the run was
 * reported and freed. */
static int drain(run_t *r, int k) {
  char b[65536];
  for (;;) {
    ssize_t n = read(r->fd[k], b, sizeof b);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) {
      close(r->fd[k]);
      r->fd[k] = -1;
      return done(r);
    }
    size_t room = r->limit[k] > r->out[k].len ? r->limit[k] - r->out[k].len : 0;
    if (room > 0) buf_add(&r->out[k], b, (size_t)n < room ? (size_t)n : room);
  }
}

/* A run exited: read what its pipes hold (they were not watched while it was quiet) and report
 * it; pipes still open after that (a grandchild holds them) are watched from now on. */
static void exited(run_t *r, int st) {
  r->exited = 1;
  r->status = st;
  r->quiet_until = 0;
  for (int k = 0; k < 2; k++)
    if (r->fd[k] >= 0 && drain(r, k)) return;
  done(r);
}

static void reap(void) {
  reaped = 0;
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    for (run_t *r = runs; r != NULL; r = r->next) {
      if (r->pid == p && !r->exited) {
        exited(r, st);
        break;
      }
    }
  }
}

/* Watch the pipes of runs quiet for QUIET_MS; the poll's timeout until the next one is due (-1:
 * none is quiet). */
static int wake_quiet(void) {
  long long now = now_ms(), next = -1;
  for (run_t *r = runs; r != NULL; r = r->next) {
    if (r->quiet_until == 0) continue;
    if (r->quiet_until <= now) r->quiet_until = 0;
    else if (next < 0 || r->quiet_until - now < next) next = r->quiet_until - now;
  }
  return (int)next;
}

static void kill_all_and_exit(void) {
  flush_held(1);
  for (run_t *r = runs; r != NULL; r = r->next) kill(-r->pid, SIGKILL);
  _exit(0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  /* 0, 1 and 2 must be open, so that no pipe of ours takes one of them. */
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 1;
  if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  null_r = open("/dev/null", O_RDONLY | O_CLOEXEC);
  null_w = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_r < 0 || null_w < 0) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  const char *dm = getenv("RUMOR_LAUNCHER_DEFER_MS");
  defer_ms = dm != NULL ? atoll(dm) : ANSWER_REPORT_DELAY_MS;
  report('R', 0, 0, NULL, 0);
  buf_t in = {0};
  size_t cap = 0;
  struct pollfd *fds = NULL;
  run_t **owner = NULL;
  int *kind = NULL;
  for (;;) {
    if (reaped) reap();
    flush_held(0);
    int timeout = wake_quiet();
    if (held != NULL) {
      long long left = held->due - now_ms();
      if (left < 0) left = 0;
      if (timeout < 0 || left < timeout) timeout = (int)left;
    }
    size_t n = 2;
    for (run_t *r = runs; r != NULL; r = r->next)
      if (r->quiet_until == 0) n += (r->fd[0] >= 0) + (r->fd[1] >= 0);
    if (n > cap) {
      cap = n * 2;
      fds = realloc(fds, cap * sizeof *fds);
      owner = realloc(owner, cap * sizeof *owner);
      kind = realloc(kind, cap * sizeof *kind);
      if (fds == NULL || owner == NULL || kind == NULL) abort();
    }
    fds[0] = (struct pollfd){.fd = 0, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = sigpipe_fd[0], .events = POLLIN};
    size_t k = 2;
    for (run_t *r = runs; r != NULL; r = r->next) {
      for (int j = 0; j < 2; j++) {
        if (r->fd[j] < 0 || r->quiet_until != 0) continue;
        fds[k] = (struct pollfd){.fd = r->fd[j], .events = POLLIN};
        owner[k] = r;
        kind[k++] = j;
      }
    }
    /* No timeout but the next quiet run's: a SIGCHLD between the reap above and this poll writes
     * the self-pipe, so the poll returns at once (the perl launcher's select woke once a second
     * for nothing). */
    int ready = poll(fds, n, timeout);
    if (ready <= 0) continue;
    if (fds[1].revents) {
      char b[512];
      while (read(sigpipe_fd[0], b, sizeof b) > 0) {
      }
      reaped = 1;
    }
    /* Pipes first (their run may end in this round), then new jobs (they change the list). */
    for (size_t i = 2; i < n; i++) {
      if (fds[i].revents == 0) continue;
      run_t *r = owner[i];
      /* A run may have been reported by an earlier drain of this round: look it up first. */
      run_t *x = runs;
      while (x != NULL && x != r) x = x->next;
      if (x != NULL && r->fd[kind[i]] == fds[i].fd) drain(r, kind[i]);
    }
    if (fds[0].revents) {
      char b[65536];
      ssize_t got = read(0, b, sizeof b);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) kill_all_and_exit();
      if (got > 0) buf_add(&in, b, (size_t)got);
      size_t off = 0;
      while (in.len - off >= 4) {
        uint32_t len = get32((unsigned char *)in.p + off);
        if (in.len - off - 4 < len) break;
        start((unsigned char *)in.p + off + 4, len);
        off += 4 + len;
      }
      if (off > 0) {
        memmove(in.p, in.p + off, in.len - off);
        in.len -= off;
      }
    }
    if (reaped) reap();
  }
}
