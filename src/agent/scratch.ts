/**
 * Scratch files for handler runs: an unnamed temporary file given to the child as its stdin
 * (the event's data, written before the spawn), closed by the agent right after the spawn
 * (the child has its own descriptor).
 *
 * Why not a pipe: each pipe costs the agent a socketpair, a stream object, its writes and its
 * close events (measured, bench's bash handler, node 20, agent CPU per run: 1.0-1.17 ms with
 * stdin and stderr pipes, 0.75-0.8 ms with both as files; ~0.7 ms with no stdio at all; stdin
 * alone not measured separately). When every node of a cluster runs a handler for the same
 * event, that CPU is the event's latency. The data is bounded (a payload's size limit), so the
 * file is too; stderr stays a pipe (see handlers.ts). A file costs one `open`
 * (Linux `O_TMPFILE`: no name, nothing left behind if the agent dies; elsewhere a named file
 * unlinked at once; measured ~13-26 us on ext4), a positional write, a `close`.
 */
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Linux `O_TMPFILE` (`__O_TMPFILE | O_DIRECTORY`; `__O_TMPFILE` is 0o20000000 on x86 and arm). */
const O_TMPFILE = 0o20000000 | (constants.O_DIRECTORY ?? 0);

/** Opens per-run scratch files in `dir`; falls back to "unavailable" (`undefined`) for good
 *  once neither way works (a read-only or missing directory): the caller then uses a pipe. */
export class ScratchFiles {
  private mode: 'tmpfile' | 'named' | 'off' = process.platform === 'linux' ? 'tmpfile' : 'named';
  private seq = 0;

  constructor(private readonly dir: string) {}

  /** A new empty file open for reading and writing, or `undefined` when unavailable. */
  private open(): number | undefined {
    if (this.mode === 'tmpfile') {
      try {
        return openSync(this.dir, O_TMPFILE | constants.O_RDWR, 0o600);
      } catch {
        this.mode = 'named'; // the file system has no O_TMPFILE
      }
    }
    if (this.mode === 'named') {
      const path = join(this.dir, `rumor-${process.pid}-${this.seq++}.out`);
      let fd: number | undefined;
      try {
        fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
        unlinkSync(path);
        return fd;
      } catch {
        if (fd !== undefined) {
          closeQuietly(fd);
          try {
            unlinkSync(path);
          } catch {
            // not there
          }
        }
        this.mode = 'off';
      }
    }
    return undefined;
  }

  /** A new file holding `data`, its offset at 0 (the child reads it from the start), or
   *  `undefined` when unavailable. */
  withContent(data: Uint8Array): number | undefined {
    const fd = this.open();
    if (fd === undefined || data.byteLength === 0) return fd;
    try {
      // Positional: the file offset the child inherits stays at 0.
      for (let at = 0; at < data.byteLength; ) at += writeSync(fd, data, at, data.byteLength - at, at);
      return fd;
    } catch {
      closeQuietly(fd);
      return undefined;
    }
  }
}

/** Close `fd`, ignoring errors. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
