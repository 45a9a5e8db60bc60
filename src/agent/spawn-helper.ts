/**
 * A long-lived launcher process that forks handler scripts for the agent, so that the agent
 * (a Node process of ~60 MB) does not fork itself once per handler run.
 *
 * Why: Node's `spawn` forks the whole agent (libuv 1.46 uses `fork`, not `vfork`): the kernel
 * copies the page tables of every mapped page, and every page the agent writes before the child
 * reaches `exec` is copied on write. When every node of a cluster runs a handler for the same
 * event on 2 cores, that is the event's latency. Measured (a Node process of 85 MB RSS running
 * the cluster bench's bash handler 200 times, 1-min load ~19): `spawn` cost the parent 1.04–1.18
 * ms per run; through this launcher the parent spent 0.13 ms and the launcher 0.20–0.25 ms
 * (the handler's own CPU, ~1.5 ms, the same both ways). The launcher is `perl` (`perl-base` is
 * essential in Debian, so present wherever `/bin/sh` is; its `POSIX` module is part
 * of it), started once, about 4–5 MB of RSS. Without perl, or when the launcher dies, handlers
 * are spawned directly (`HandlerRunner` falls back by itself).
 *
 * The native launcher (src/agent/launcher.c, built into dist/rumor-launcher by `npm ci` when a C
 * compiler is present; used in preference to perl when it is there) speaks the same protocol
 * with the same semantics, but starts a run with `posix_spawn` (CLONE_VM | CLONE_VFORK) instead
 * of perl's `fork`: no copy of the launcher's page tables and no copy-on-write faults on either
 * side before the exec, which in this project's VM cost more than the rest of a run's start
 * (see launcher.c for the figures), and 1.1 MB of RSS instead of perl's ~7 MB (VmRSS of an idle
 * launcher, measured side by side).
 *
 * Semantics kept from a direct spawn (Serf's: one process per event, its data on stdin, the
 * event in the environment): the child gets its own session and process group (`setsid`, as
 * `detached: true`: a timeout kills the whole group), the environment is the launcher's (the
 * agent's, inherited at start) plus the run's own variables, stdin holds the data (a pipe
 * filled before the fork, as Serf's; `/dev/null` when there is none; an anonymous temporary
 * file when it is larger than a pipe takes at once, 64 KiB), stdout is `/dev/null` unless
 * captured, stderr is a pipe; `exec` failures (ENOENT, EACCES) are reported as spawn errors with
 * their errno, as `spawn` does, and a file without `#!` runs with `/bin/sh` (execvp's ENOEXEC
 * fallback, as libuv).
 *
 * Protocol (binary, length-prefixed, both ways on the launcher's stdin/stdout), one report per
 * run so that a run wakes the agent once (measured with `npm run bench:handler-launch`, load
 * 47–55: the agent's CPU per run 0.48–0.62 ms with separate start, output and exit reports,
 * 0.35–0.37 ms with one):
 * - job: `N` length, then `N` id, `C` flags (1: capture stdout, 4: an answer follows), `N`
 *   stdout limit, `N` args count, `N` env count, then strings `N/a*`: file, args...,
 *   `KEY=value`..., stdin data, and with flag 4 the answer (`HelperAnswer`, `encodeAnswer`): a
 *   query's response datagram with an empty payload and where to send it;
 * - kill: `N` length (5), `N` id, `C` 2: SIGKILL to the run's process group (its timeout); a
 *   run already over whose `A` report is held back: the held reports are sent at once;
 * - flush: `N` length (5), `N` 0, `C` 8: send every held `A` report now;
 * - report: `N` length, then `C` type, `N` id, `N` value, `N/a*` data: `R` the launcher runs
 *   (once, at its start), `F` could not start (value: errno, data: message), `X` exited and its
 *   pipes closed (value: raw wait status, data: `N/a*` stdout then `N/a*` stderr, each at most
 *   its limit plus one byte, which tells "truncated"; the rest is read and dropped so the child
 *   never blocks), `A` the same as `X`, and the run's answer was sent (below).
 * - A job's answer (native launcher only; perl ignores it and reports `X`): when the run exits 0
 *   with stdout within its limit, before the query's deadline, the launcher puts the stdout in
 *   the datagram as its payload, redoes its length and its two CRC-32Cs, sends it from a UDP
 *   socket of its own, and reports `A`: the response leaves when the handler exits, without
 *   waiting for the agent to be scheduled (one process hop less on every responder's path).
 *   The `A` report itself is held back `ANSWER_REPORT_DELAY_MS` (launcher.c): the response is
 *   out, and the agent's wake-up for the report then falls after the query's window at the
 *   asker (the whole fleet's CPU in that window is what the query waits for on a busy machine)
 *   instead of in it. The agent asks for held reports at once (flush) when it queues a run for
 *   want of a free slot, and the launcher sends them before it exits.
 *   Anything else (a failed, cut or late run, a datagram over its bound, a failed send) is
 *   reported `X` and the agent answers as without an answer part.
 * The launcher kills the process group of every run it still has when its stdin closes (the
 * agent stopped or closed it), then exits. When it dies, runs it was handed fail (`EHELPER`),
 * except before its `R` report (perl missing or broken): those are spawned by the agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResponseDatagram } from '../net/query.js';

/** Which launcher runs: `native` (dist/rumor-launcher, src/agent/launcher.c: posix_spawn, no
 *  fork of the launcher), `perl` (the script below), or `auto`: native when it was built, else perl. */
export type LauncherProgram = 'auto' | 'native' | 'perl';

/** dist/rumor-launcher above this module (src/agent, dist/src/agent, or the bundle in dist/),
 *  when it was built and is executable; else null. */
export function nativeLauncherPath(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'dist', 'rumor-launcher');
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      dir = dirname(dir);
    }
  }
  return null;
}

/** The launcher, in perl (see the module comment). */
const LAUNCHER = String.raw`
use strict; use warnings; use POSIX ();
$SIG{PIPE} = 'IGNORE'; binmode STDIN; binmode STDOUT;
# The handles waited on, as a select(2) bit vector: raw 4-argument select, no IO::Select objects.
my $rin = ''; sub watch { vec($rin, fileno($_[0]), 1) = $_[1] } watch(\*STDIN, 1);
my (%kids, %byid, %byfh, %status); my $in = ''; my $reaped = 0;
pipe(my $sigr, my $sigw) or die "pipe: $!"; $sigw->blocking(0); $sigr->blocking(0); watch($sigr, 1);
open(my $NULLR, '<', '/dev/null') or die "/dev/null: $!"; open(my $NULLW, '>', '/dev/null') or die "/dev/null: $!";
$SIG{CHLD} = sub { $reaped = 1; syswrite($sigw, 'x') };
sub report { my $b = pack('CNN', $_[0], $_[1], $_[2]) . pack('N/a*', $_[3] // ''); syswrite(STDOUT, pack('N', length $b) . $b) // exit 0; }
sub done { my $k = shift; return if $k->{fhs} > 0 || !defined $k->{st}; report(ord 'X', $k->{id}, $k->{st}, pack('N/a* N/a*', $k->{O}, $k->{E})); delete $kids{$k->{pid}}; delete $byid{$k->{id}}; }
sub stdin_of {
  my $data = shift;
  return $NULLR if $data eq '';
  if (length $data <= 65536 && pipe(my $r, my $w)) {
    $w->blocking(0); my $n = syswrite($w, $data); close $w;
    return $r if defined $n && $n == length $data;
    close $r;
  }
  open(my $tmp, '+>', undef) or return; binmode $tmp; print $tmp $data; seek($tmp, 0, 0); return $tmp;
}
sub start {
  my ($id, $flags) = unpack('N C', $_[0]);
  if ($flags & 2) { my $k = $byid{$id}; kill('KILL', -$k->{pid}) if $k; return; }
  my (undef, undef, $limit, $na, $ne, @s) = unpack('N C N N N (N/a*)*', $_[0]);
  my $file = shift @s; my @args = splice(@s, 0, $na); my @env = splice(@s, 0, $ne); my $data = shift(@s) // '';
  my $input = stdin_of($data) or return report(ord 'F', $id, 0 + $!, "stdin: $!");
  pipe(my $er, my $ew) or return report(ord 'F', $id, 0 + $!, "pipe: $!");
  my ($or, $ow); if ($flags & 1) { pipe($or, $ow) or return report(ord 'F', $id, 0 + $!, "pipe: $!"); }
  pipe(my $xr, my $xw) or return report(ord 'F', $id, 0 + $!, "pipe: $!");
  my $pid = fork();
  if (!defined $pid) { return report(ord 'F', $id, 0 + $!, "fork: $!"); }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT'; $SIG{PIPE} = 'DEFAULT'; POSIX::setsid();
    open(STDIN, '<&', $input); open(STDOUT, '>&', $ow // $NULLW); open(STDERR, '>&', $ew);
    for (@env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }
    { no warnings; exec { $file } $file, @args; }
    syswrite($xw, pack('N', 0 + $!) . "$!"); POSIX::_exit(127);
  }
  close $xw; close $ew; close $ow if $ow; close $input if $input != $NULLR;
  my $err = ''; while (1) { my $n = sysread($xr, $err, 4096, length $err); last if defined $n && $n == 0; next if !defined $n && $!{EINTR}; last if !defined $n; } close $xr;
  if (length $err >= 4) { waitpid($pid, 0); return report(ord 'F', $id, unpack('N', $err), substr($err, 4)); }
  my $k = { id => $id, pid => $pid, fhs => 0, st => undef, O => '', E => '' };
  for ([$er, 'E', 4096], ($or ? [$or, 'O', $limit] : ())) { $_->[0]->blocking(0); $k->{fhs}++; $byfh{fileno $_->[0]} = [$k, $_->[0], $_->[1], $_->[2]]; watch($_->[0], 1); }
  $kids{$pid} = $k; $byid{$id} = $k;
  if (exists $status{$pid}) { $k->{st} = delete $status{$pid}; }
}
report(ord 'R', 0, 0, '');
sub reap { $reaped = 0; while ((my $p = waitpid(-1, POSIX::WNOHANG())) > 0) { if (my $k = $kids{$p}) { $k->{st} = $?; done($k); } else { $status{$p} = $?; } } }
while (1) {
  reap() if $reaped;
  # A SIGCHLD between the check above and the select writes a byte on the self-pipe: the
  # select returns at once instead of at its timeout.
  my $rout = $rin; my $nready = select($rout, undef, undef, 1);
  next if $nready <= 0;
  for my $fd (grep { vec($rout, $_, 1) } 0 .. 8 * length($rout) - 1) {
    if ($fd == fileno($sigr)) { my $b; 1 while (sysread($sigr, $b, 512) // 0) > 0; $reaped = 1; next; }
    if ($fd == 0) {
      my $n = sysread(STDIN, $in, 65536, length $in);
      # The agent is gone or closed us: its runs go with it.
      if (!$n) { next if !defined $n && $!{EINTR}; kill('KILL', -$_->{pid}) for values %kids; exit 0; }
      while (length $in >= 4) { my $len = unpack('N', $in); last if length $in < 4 + $len; my $job = substr($in, 4, $len); substr($in, 0, 4 + $len) = ''; start($job); }
      next;
    }
    my $e = $byfh{$fd} or next; my ($k, $h, $type, $limit) = @$e;
    # Non-blocking: read what is there, EOF included, in this round (one select per run fewer).
    while (1) {
      my $buf; my $n = sysread($h, $buf, 65536);
      if (!defined $n) { next if $!{EINTR}; last if $!{EAGAIN}; $n = 0; }
      if ($n == 0) { watch($h, 0); delete $byfh{fileno $h}; close $h; $k->{fhs}--; done($k); last; }
      my $room = $limit + 1 - length $k->{$type}; $k->{$type} .= substr($buf, 0, $room) if $room > 0;
    }
  }
  # A run whose pipes closed in this round may have exited too: report it without another select.
  reap() if $reaped;
}
`;

/** A run started through the launcher: what `HandlerRunner.watch` needs of a `ChildProcess`.
 *  Its pid stays undefined (the launcher kills it: `killRun`) unless it was started another
 *  way after the launcher failed (then `pid` is set and a `spawn` event emitted). */
export class HelperChild extends EventEmitter {
  pid: number | undefined;
  readonly stdin = null;
  readonly stdout: EventEmitter | null;
  readonly stderr = new EventEmitter();
  /** The launcher sent the run's answer (its `A` report: see `HelperJob.answer`). */
  answered = false;
  /** Set by whoever started the run: kill its whole process group. */
  killer: (() => void) | null = null;
  constructor(
    captureStdout: boolean,
    /** The file run (for error messages). */
    readonly file = '',
  ) {
    super();
    this.stdout = captureStdout ? new EventEmitter() : null;
  }

  /** Kill the run's process group (SIGKILL), wherever it runs; a run already over is left alone. */
  killRun(): void {
    this.killer?.();
  }
}

/** What a run asks of the launcher. */
export interface HelperJob {
  file: string;
  args: string[];
  /** The run's own variables (the launcher's environment is the agent's). */
  env: Record<string, string>;
  stdin: Uint8Array;
  /** Relay stdout, at most this many bytes (one more tells it was cut); null: /dev/null. */
  stdoutLimit: number | null;
  /** Send the run's stdout as a query's response when it exits 0 (see the module comment);
   *  needs `stdoutLimit`. */
  answer?: HelperAnswer;
}

/** A query's response for the launcher to send: the node's response datagram with an empty
 *  payload (src/net/query.ts). */
export type HelperAnswer = ResponseDatagram;

/** The answer part of a job (see the module comment), without its length. */
function answerSize(a: HelperAnswer): number {
  return 24 + Buffer.byteLength(a.host) + a.template.byteLength;
}

function writeAnswer(b: Buffer, p: number, a: HelperAnswer): void {
  b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(a.leftMs))), p);
  b.writeUInt32BE(a.port, p + 4);
  b.writeUInt32BE(a.payloadAt, p + 8);
  b.writeUInt32BE(a.innerAt, p + 12);
  b.writeUInt32BE(a.maxBytes, p + 16);
  const n = b.write(a.host, p + 24);
  b.writeUInt32BE(n, p + 20);
  b.set(a.template, p + 24 + n);
}

/** A job message (see the module comment) in one buffer, each string written in place: one
 *  allocation per run instead of two per string and a concatenation. */
export function encodeJob(id: number, job: HelperJob): Buffer {
  const keys = Object.keys(job.env);
  const answer = job.answer !== undefined && job.stdoutLimit !== null ? job.answer : null;
  let size = 4 + 4 + 1 + 4 + 4 + 4 + 4 + Buffer.byteLength(job.file) + 4 + job.stdin.byteLength + (answer === null ? 0 : 4 + answerSize(answer));
  for (const a of job.args) size += 4 + Buffer.byteLength(a);
  for (const k of keys) size += 4 + Buffer.byteLength(k) + 1 + Buffer.byteLength(job.env[k]);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32BE(size - 4, 0);
  b.writeUInt32BE(id, 4);
  b.writeUInt8(job.stdoutLimit === null ? 0 : answer === null ? 1 : 5, 8);
  b.writeUInt32BE(job.stdoutLimit ?? 0, 9);
  b.writeUInt32BE(job.args.length, 13);
  b.writeUInt32BE(keys.length, 17);
  let p = 21;
  const str = (s: string): void => {
    const n = b.write(s, p + 4);
    b.writeUInt32BE(n, p);
    p += 4 + n;
  };
  str(job.file);
  for (const a of job.args) str(a);
  for (const k of keys) str(`${k}=${job.env[k]}`);
  b.writeUInt32BE(job.stdin.byteLength, p);
  b.set(job.stdin, p + 4);
  p += 4 + job.stdin.byteLength;
  if (answer !== null) {
    b.writeUInt32BE(answerSize(answer), p);
    writeAnswer(b, p + 4, answer);
  }
  return b;
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** The launcher process and its runs (see the module comment). */
export class SpawnHelper {
  private readonly proc: ChildProcess;
  private readonly runs = new Map<number, HelperChild>();
  private readonly fallbacks = new Map<number, (c: HelperChild) => void>();
  private seq = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** The launcher said it runs (its `R` report): from then on a run it was handed may have
   *  started, so when it dies its runs fail instead of being started again. */
  private ready = false;
  /** False once the launcher failed to start or died: the caller spawns directly. */
  alive = true;
  private deadSeen = false;

  /** The launcher that runs (`native` or `perl`). */
  readonly program: 'native' | 'perl';

  constructor(
    private readonly onDead: (reason: string) => void,
    program: LauncherProgram = 'auto',
    /** The native launcher's path (default: `nativeLauncherPath()`). */
    nativePath?: string,
  ) {
    const native = program === 'perl' ? null : (nativePath ?? nativeLauncherPath());
    this.program = program === 'native' || native !== null ? 'native' : 'perl';
    // `native` asked for but not built: the spawn fails (ENOENT) and the runs are started
    // directly, as when perl is missing.
    const file = this.program === 'native' ? (native ?? join(dirname(fileURLToPath(import.meta.url)), 'dist', 'rumor-launcher')) : 'perl';
    this.proc = spawn(file, this.program === 'native' ? [] : ['-e', LAUNCHER], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.proc.on('error', (err) => this.dead(`spawn helper: ${err.message}`));
    this.proc.on('exit', (code, sig) => this.dead(`spawn helper exited (${sig ?? code})`));
    this.proc.stdin!.on('error', () => {});
    this.proc.stdout!.on('data', (b: Buffer) => this.onData(b));
  }

  /** Did the launcher ever report that it runs? (A native launcher that cannot run here, e.g.
   *  built for another machine, never does: the runner then tries perl.) */
  get started(): boolean {
    return this.ready;
  }

  /** Start a run; its events come on the returned object (`spawn`, `error`, `close`). When the
   *  launcher is gone before the run started, `fallback(child)` is called instead (the caller
   *  starts it another way and feeds the same object). */
  run(job: HelperJob, fallback: (c: HelperChild) => void): HelperChild {
    const id = (this.seq = (this.seq + 1) >>> 0 || 1);
    const child = new HelperChild(job.stdoutLimit !== null, job.file);
    child.killer = () => this.kill(id);
    if (!this.alive) {
      queueMicrotask(() => fallback(child));
      return child;
    }
    this.runs.set(id, child);
    this.fallbacks.set(id, fallback);
    this.proc.stdin!.write(encodeJob(id, job));
    return child;
  }

  /** Ask the launcher to kill run `id`'s process group (nothing when it is over). */
  private kill(id: number): void {
    if (!this.alive || !this.runs.has(id)) return;
    const m = Buffer.alloc(4 + 5);
    m.writeUInt32BE(5, 0);
    m.writeUInt32BE(id, 4);
    m.writeUInt8(2, 8);
    this.proc.stdin!.write(m);
  }

  /** Ask the launcher for the `A` reports it holds back (see the module comment): the agent
   *  needs the runs' slots now. */
  flushAnswers(): void {
    if (!this.alive || this.program !== 'native') return;
    const m = Buffer.alloc(4 + 5);
    m.writeUInt32BE(5, 0);
    m.writeUInt8(8, 8);
    this.proc.stdin!.write(m);
  }

  /** Stop the launcher: it kills the runs it still has, then exits. */
  close(): void {
    this.alive = false;
    this.deadSeen = true;
    this.proc.stdin!.end();
  }

  private onData(b: Buffer): void {
    this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) break;
      const m = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      this.onReport(String.fromCharCode(m[0]), m.readUInt32BE(1), m.readUInt32BE(5), m.subarray(13, 13 + m.readUInt32BE(9)));
    }
  }

  private onReport(type: string, id: number, value: number, data: Buffer): void {
    if (type === 'R') {
      this.ready = true;
      return;
    }
    const c = this.runs.get(id);
    if (c === undefined) return;
    this.runs.delete(id);
    this.fallbacks.delete(id);
    if (type === 'F') {
      const code = ERRNO_NAMES.get(value) ?? 'ESPAWN';
      // As `spawn` words it ("spawn FILE ENOENT"), with the system's text after it.
      c.emit('error', Object.assign(new Error(`spawn ${c.file} ${code} (${data.toString()})`), { code, errno: value }));
    } else if (type === 'X' || type === 'A') {
      c.answered = type === 'A';
      const outLen = data.readUInt32BE(0);
      const out = data.subarray(4, 4 + outLen);
      const err = data.subarray(8 + outLen, 8 + outLen + data.readUInt32BE(4 + outLen));
      if (out.length > 0) c.stdout?.emit('data', Buffer.from(out));
      if (err.length > 0) c.stderr.emit('data', Buffer.from(err));
      const sig = value & 0x7f;
      const name = sig === 0 ? null : (Object.entries(constants.signals).find(([, n]) => n === sig)?.[0] ?? `SIG${sig}`);
      c.emit('close', sig === 0 ? (value >> 8) & 0xff : null, name);
    }
  }

  private dead(reason: string): void {
    if (this.deadSeen) return;
    this.deadSeen = true;
    this.alive = false;
    for (const [id, c] of this.runs) {
      const fb = this.fallbacks.get(id);
      // A launcher that never ran (no perl) started nothing: start the runs another way. One
      // that ran may have started them: they fail (their output went with it).
      if (fb !== undefined && !this.ready) fb(c);
      else c.emit('error', Object.assign(new Error(reason), { code: 'EHELPER' }));
    }
    this.runs.clear();
    this.fallbacks.clear();
    this.onDead(reason);
  }
}
