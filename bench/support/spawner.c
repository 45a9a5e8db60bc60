/*
 * bench-spawner: starts processes for a benchmark so that the benchmark's own process never
 * blocks in a spawn (bench/support/spawner.ts is its client; why: that file's comment).
 *
 * Requests on stdin, each a run of NUL-terminated fields:
 *   ID, LOG, ARGC, ARGV[0..ARGC-1], ENVC, ENV[0..ENVC-1]
 * ARGV[0] is looked up on the PATH (posix_spawnp); LOG receives the child's stdout and stderr
 * (opened O_APPEND, created 0644; "" = /dev/null); stdin is /dev/null; the child gets a session
 * of its own (a new process group, as node's `detached: true`), an empty signal mask and every
 * signal at its default disposition.
 * Replies on stdout, one line each:
 *   spawned ID PID T0_US T1_US    (CLOCK_REALTIME microseconds before and after posix_spawnp)
 *   failed ID ERRNO
 *   exit PID CODE SIGNAL          (CODE -1 when killed; SIGNAL 0 when it exited)
 * On end of stdin every child still running is sent SIGKILL and the spawner exits once all are
 * reaped (the benchmark exited or crashed: its agents must not outlive it).
 *
 * posix_spawn in glibc is a clone(CLONE_VM | CLONE_VFORK): no copy of this process's page tables,
 * and this (small) process, not the benchmark, waits for each child's exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wake[2];
static pid_t *kids;
static size_t nkids, capkids;

static void on_chld(int sig) {
  (void)sig;
  int e = errno;
  ssize_t w = write(wake[1], "c", 1);
  (void)w;
  errno = e;
}

static void say(const char *line) {
  size_t len = strlen(line), off = 0;
  while (off < len) {
    ssize_t w = write(1, line + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* the reader is gone: end of stdin follows */
    off += (size_t)w;
  }
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void add_kid(pid_t p) {
  if (nkids == capkids) {
    capkids = capkids ? 2 * capkids : 64;
    kids = realloc(kids, capkids * sizeof *kids);
    if (!kids) abort();
  }
  kids[nkids++] = p;
}

static void reap(void) {
  char line[96];
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    for (size_t i = 0; i < nkids; i++)
      if (kids[i] == p) {
        kids[i] = kids[--nkids];
        break;
      }
    if (WIFEXITED(st)) snprintf(line, sizeof line, "exit %d %d 0\n", (int)p, WEXITSTATUS(st));
    else snprintf(line, sizeof line, "exit %d -1 %d\n", (int)p, WTERMSIG(st));
    say(line);
  }
}

/* Fields of the request at the start of buf[0..len): returns the bytes it takes, 0 when it is not
 * all there yet, -1 when it is malformed. */
static long parse(char *buf, size_t len, char ***fields, size_t *nf) {
  size_t pos = 0, count = 0, need = 3; /* ID, LOG, ARGC; then ARGV and ENVC; then ENV */
  size_t argc = 0, stage = 0;
  static char **f;
  static size_t capf;
  while (count < need) {
    char *end = memchr(buf + pos, '\0', len - pos);
    if (!end) return 0;
    if (count == capf) {
      capf = capf ? 2 * capf : 64;
      f = realloc(f, capf * sizeof *f);
      if (!f) abort();
    }
    f[count++] = buf + pos;
    pos = (size_t)(end - buf) + 1;
    if (count == need && stage == 0) {
      char *e;
      argc = strtoul(f[2], &e, 10);
      if (*e || argc == 0 || argc > 100000) return -1;
      need += argc + 1;
      stage = 1;
    } else if (count == need && stage == 1) {
      char *e;
      size_t envc = strtoul(f[count - 1], &e, 10);
      if (*e || envc > 100000) return -1;
      need += envc;
      stage = 2;
    }
  }
  *fields = f;
  *nf = count;
  return (long)pos;
}

static void start(char **f, size_t nf) {
  char line[160];
  const char *id = f[0];
  size_t argc = strtoul(f[2], NULL, 10);
  char **argv = calloc(argc + 1, sizeof *argv);
  size_t envc = nf - 4 - argc;
  char **envp = calloc(envc + 1, sizeof *envp);
  if (!argv || !envp) abort();
  for (size_t i = 0; i < argc; i++) argv[i] = f[3 + i];
  for (size_t i = 0; i < envc; i++) envp[i] = f[4 + argc + i];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, f[1][0] ? f[1] : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  pid_t pid;
  /* SIGCHLD held while the child is added, so its exit is never reported before its spawn. */
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  long long t0 = now_us();
  int err = posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
  long long t1 = now_us();
  if (err == 0) {
    add_kid(pid);
    snprintf(line, sizeof line, "spawned %s %d %lld %lld\n", id, (int)pid, t0, t1);
  } else snprintf(line, sizeof line, "failed %s %d\n", id, err);
  say(line);
  sigprocmask(SIG_SETMASK, &old, NULL);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  free(argv);
  free(envp);
}

int main(void) {
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  if (!buf) return 1;
  int open_in = 1;
  while (open_in || nkids > 0) {
    struct pollfd p[2] = {{.fd = wake[0], .events = POLLIN}, {.fd = open_in ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[0].revents) {
      char d[64];
      while (read(wake[0], d, sizeof d) > 0) {
      }
      reap();
    }
    if (open_in && p[1].revents) {
      if (len == cap) {
        cap *= 2;
        buf = realloc(buf, cap);
        if (!buf) return 1;
      }
      ssize_t r = read(0, buf + len, cap - len);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        open_in = 0;
        for (size_t i = 0; i < nkids; i++) kill(kids[i], SIGKILL);
        continue;
      }
      len += (size_t)r;
      for (;;) {
        char **f;
        size_t nf;
        long used = parse(buf, len, &f, &nf);
        if (used == 0) break;
        if (used < 0) {
          say("failed - 22\n"); /* a malformed request: the client is broken */
          for (size_t i = 0; i < nkids; i++) kill(kids[i], SIGKILL);
          return 2;
        }
        start(f, nf);
        memmove(buf, buf + used, len - (size_t)used);
        len -= (size_t)used;
      }
    }
  }
  return 0;
}
