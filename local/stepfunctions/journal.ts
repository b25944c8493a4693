/**
 * Durable journal: append-only segment files with group commit, plus snapshots for compaction.
 *
 * Why this design:
 * - Append-only + fdatasync is the cheapest way to make "persist the transition before acting on
 *   it" true on a plain filesystem. Nothing is rewritten in place, so a crash can only leave a torn
 *   final line, which replay recognises (it does not parse) and drops: that record was never
 *   acknowledged, because callers wait for the fsync before acting on it.
 * - Group commit: appends made while a write+fdatasync is in flight are gathered into the next
 *   batch, so N concurrent transitions cost one fsync, not N. 10,000 executions starting at once
 *   cost a handful of fsyncs. Appends in the same macrotask share one batch (setImmediate).
 * - One record per execution step carries the execution's full mutable state (not a delta) plus
 *   the history events it produced, so replay is "last record wins" and needs no interpreter.
 * - Every record has a sequence number. A snapshot stores the last sequence number it covers, and
 *   replay skips records at or below it. That makes compaction safe without stopping writers: the
 *   snapshot is captured synchronously (consistent with the sequence counter), written to a temp
 *   file, fsynced, atomically renamed, the directory fsynced, and only then are the segments it
 *   covers deleted. A crash at any point leaves either the old snapshot + all segments or the new
 *   snapshot + (possibly redundant) segments, both of which replay to the same state.
 * - Each open() starts a fresh segment and compacts, so startup reads one snapshot plus a short
 *   tail, and torn lines are never appended to.
 * Alternatives rejected: SQLite/LevelDB need native npm packages (not installable here); one file
 * per execution costs an fsync per execution and 10,000 files; rewriting a single JSON state file
 * per transition is O(total state) per write.
 */
import { createReadStream } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const SEGMENT_PATTERN = /^journal-(\d{10})\.log$/;
const SNAPSHOT_FILE = 'snapshot.ndjson';
const SNAPSHOT_TEMP_FILE = 'snapshot.ndjson.tmp';
const WRITE_CHUNK_CHARS = 1 << 20;
const LOCK_FILE = 'LOCK';

/** Data directories opened by this process (an in-process simulated crash releases its entry). */
const directoriesOpenInThisProcess = new Set<string>();

export interface SnapshotHeader {
  format: 'countersign-local-sfn-snapshot';
  version: 1;
  lastSeq: number;
  createdAt: number;
}

export interface ReplayVisitor {
  /** Called for each entry line of the snapshot (after its header). */
  snapshotEntry(entry: unknown): void;
  /** Called for each journal record not covered by the snapshot, in sequence order. */
  record(record: JournalRecord): void;
}

export interface JournalRecord {
  q: number;
  [key: string]: unknown;
}

export class JournalCorruptError extends Error {
  override name = 'JournalCorruptError';
}

interface PendingBatch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Segment {
  number: number;
  handle: FileHandle;
}

export interface JournalOptions {
  /**
   * A write or fsync failed: the journal refuses every later append for good (the file is in an
   * unknown state). Called once, with the error, before the appends that failed are rejected.
   */
  onFailure?: (error: Error) => void;
}

export interface JournalStats {
  segmentBytesSinceSnapshot: number;
  batches: number;
  records: number;
}

export class Journal {
  private segment: Segment | undefined;
  private lastSeq = 0;
  private pendingLines: string[] = [];
  private pendingBatch: PendingBatch | undefined;
  private flushing: Promise<void> | undefined;
  private flushScheduled = false;
  private failure: Error | undefined;
  private closed = false;
  private abandoned = false;
  private bytesSinceSnapshot = 0;
  private compacting: Promise<void> | undefined;
  readonly stats: JournalStats = { segmentBytesSinceSnapshot: 0, batches: 0, records: 0 };

  private constructor(
    private readonly dir: string,
    private readonly options: JournalOptions,
  ) {}

  /** Opens (creating if needed) the journal directory and replays it into `visitor`. */
  static async open(
    dir: string,
    visitor: ReplayVisitor,
    options: JournalOptions = {},
  ): Promise<Journal> {
    await mkdir(dir, { recursive: true });
    await acquireLock(dir);
    const journal = new Journal(dir, options);
    try {
      await journal.replay(visitor);
    } catch (error) {
      await releaseLock(dir);
      throw error;
    }
    return journal;
  }

  get sequence(): number {
    return this.lastSeq;
  }

  get bytesWrittenSinceSnapshot(): number {
    return this.bytesSinceSnapshot;
  }

  private async replay(visitor: ReplayVisitor): Promise<void> {
    let snapshotSeq = 0;
    const snapshotPath = join(this.dir, SNAPSHOT_FILE);
    if (await exists(snapshotPath)) {
      let header: SnapshotHeader | undefined;
      for await (const line of readLines(snapshotPath)) {
        if (line.length === 0) continue;
        const parsed = parseLine(line);
        if (parsed === undefined) {
          // The snapshot is only renamed into place after a full fsync, so it cannot be torn.
          throw new JournalCorruptError(`${snapshotPath} contains an unparsable line`);
        }
        if (!header) {
          header = parsed as SnapshotHeader;
          if (header.format !== 'countersign-local-sfn-snapshot' || header.version !== 1) {
            throw new JournalCorruptError(`${snapshotPath} has an unknown format`);
          }
          snapshotSeq = header.lastSeq;
          continue;
        }
        visitor.snapshotEntry(parsed);
      }
      if (!header) throw new JournalCorruptError(`${snapshotPath} is empty`);
    }
    this.lastSeq = snapshotSeq;
    for (const segmentNumber of await this.segmentNumbers()) {
      const path = this.segmentPath(segmentNumber);
      let badLine: number | undefined;
      let lineNumber = 0;
      for await (const line of readLines(path)) {
        lineNumber++;
        if (line.length === 0) continue;
        if (badLine !== undefined) {
          throw new JournalCorruptError(
            `${path}: line ${badLine} is unparsable but is not the last line; refusing to guess`,
          );
        }
        const record = parseLine(line) as JournalRecord | undefined;
        if (record === undefined || typeof record.q !== 'number') {
          // Tolerated only as the final line: a write torn by a crash before its fsync completed.
          badLine = lineNumber;
          continue;
        }
        if (record.q <= this.lastSeq) continue;
        this.lastSeq = record.q;
        visitor.record(record);
      }
    }
  }

  /**
   * Starts a new segment for this process's writes. Called once after replay, before any append.
   */
  async startWriting(): Promise<void> {
    const numbers = await this.segmentNumbers();
    const next = (numbers.at(-1) ?? 0) + 1;
    this.segment = await this.createSegment(next);
  }

  /**
   * Appends one record (a JSON object text without its sequence number) and resolves once it is
   * on disk. Records are written in call order.
   */
  append(recordJson: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    const seq = ++this.lastSeq;
    const body = recordJson.slice(1);
    this.pendingLines.push(body === '}' ? `{"q":${seq}}\n` : `{"q":${seq},${body}\n`);
    if (!this.pendingBatch) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Callers may legitimately not await (fire-and-forget on close); never crash on rejection.
      promise.catch(() => undefined);
      this.pendingBatch = { promise, resolve, reject };
    }
    const batch = this.pendingBatch.promise;
    this.scheduleFlush();
    return batch;
  }

  /** Resolves once everything appended so far is durable. */
  async sync(): Promise<void> {
    while (this.pendingBatch || this.flushing) {
      if (this.pendingBatch) await this.pendingBatch.promise;
      else await this.flushing;
    }
    if (this.failure) throw this.failure;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pendingLines.length > 0 && this.pendingBatch) {
        const lines = this.pendingLines;
        const batch = this.pendingBatch;
        this.pendingLines = [];
        this.pendingBatch = undefined;
        const segment = this.segment;
        if (!segment) throw new Error('journal: startWriting() was not called');
        try {
          // Large batches (10,000 executions starting at once) are written in ~1 MiB chunks so
          // the batch never exists as one giant string plus one giant Buffer; one fdatasync still
          // covers the whole batch.
          let written = 0;
          for (let first = 0; first < lines.length; ) {
            let last = first;
            let chunkLength = 0;
            while (last < lines.length && (last === first || chunkLength < WRITE_CHUNK_CHARS)) {
              chunkLength += (lines[last] as string).length;
              last++;
            }
            const data = Buffer.from(lines.slice(first, last).join(''), 'utf8');
            await writeFully(segment.handle, data);
            written += data.length;
            first = last;
          }
          await segment.handle.datasync();
          this.bytesSinceSnapshot += written;
          this.stats.batches++;
          this.stats.records += lines.length;
          this.stats.segmentBytesSinceSnapshot = this.bytesSinceSnapshot;
          batch.resolve();
        } catch (error) {
          // A failed fsync leaves the file in an unknown state: stop accepting writes for good.
          this.failure = new Error(`journal write failed: ${(error as Error).message}`, {
            cause: error,
          });
          // A simulated crash closes the handle under a write in flight: no failure of the disk.
          if (!this.abandoned) this.reportFailure(this.failure);
          batch.reject(this.failure);
          // Appends made during the failed write share the next batch: fail them too.
          (this.pendingBatch as PendingBatch | undefined)?.reject(this.failure);
          this.pendingBatch = undefined;
          this.pendingLines = [];
          return;
        }
      }
    } finally {
      this.flushing = undefined;
    }
    if (this.pendingLines.length > 0) this.scheduleFlush();
  }

  private reportFailure(failure: Error): void {
    try {
      this.options.onFailure?.(failure);
    } catch (error) {
      console.error('[local-stepfunctions] journal onFailure threw', error);
    }
  }

  /**
   * Compacts: `capture` must synchronously return the snapshot entries (one JSON text each) that
   * represent the state after every record appended so far.
   */
  compact(capture: () => string[]): Promise<void> {
    if (!this.compacting) {
      this.compacting = this.runCompaction(capture).finally(() => {
        this.compacting = undefined;
      });
    }
    return this.compacting;
  }

  private async runCompaction(capture: () => string[]): Promise<void> {
    const oldSegments = await this.segmentNumbers();
    this.stopIfAbandoned();
    const nextNumber = (oldSegments.at(-1) ?? 0) + 1;
    const newSegment = await this.createSegment(nextNumber);
    this.stopIfAbandoned();
    // --- synchronous section: the capture and the segment switch happen at the same sequence point.
    const header: SnapshotHeader = {
      format: 'countersign-local-sfn-snapshot',
      version: 1,
      lastSeq: this.lastSeq,
      createdAt: Date.now(),
    };
    const entries = capture();
    const previousSegment = this.segment;
    this.segment = newSegment;
    this.bytesSinceSnapshot = 0;
    // --- end of synchronous section.
    const tempPath = join(this.dir, SNAPSHOT_TEMP_FILE);
    const handle = await open(tempPath, 'w');
    try {
      await writeFully(handle, Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'));
      // Write in chunks to avoid building one giant string for large snapshots.
      const chunkSize = 1000;
      for (let i = 0; i < entries.length; i += chunkSize) {
        const chunk = `${entries.slice(i, i + chunkSize).join('\n')}\n`;
        await writeFully(handle, Buffer.from(chunk, 'utf8'));
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.stopIfAbandoned();
    await rename(tempPath, join(this.dir, SNAPSHOT_FILE));
    await fsyncDirectory(this.dir);
    this.stopIfAbandoned();
    // A batch already being written to the previous segment only holds records the snapshot
    // covers, but wait for it so its file handle can be closed cleanly.
    if (this.flushing) await this.flushing.catch(() => undefined);
    if (previousSegment && previousSegment.number !== newSegment.number) {
      await previousSegment.handle.close().catch(() => undefined);
    }
    for (const number of oldSegments) {
      this.stopIfAbandoned();
      if (number < newSegment.number) await rm(this.segmentPath(number), { force: true });
    }
  }

  /** A compaction in flight when the process "dies" (abandon) must not touch the files after. */
  private stopIfAbandoned(): void {
    if (this.abandoned) throw new Error('journal abandoned');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync().catch(() => undefined);
    if (this.compacting) await this.compacting.catch(() => undefined);
    this.closed = true;
    await this.segment?.handle.close().catch(() => undefined);
    this.segment = undefined;
    await releaseLock(this.dir);
  }

  /**
   * Stops writing without flushing anything: what a crash looks like, for in-process tests.
   * Resolves once a compaction in flight has stopped, so that nothing changes the files after
   * the "crash" (a dead process's compaction cannot delete segments a restart is reading).
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.closed = true;
    this.failure = new Error('journal abandoned');
    this.pendingLines = [];
    this.pendingBatch = undefined;
    void this.segment?.handle.close().catch(() => undefined);
    this.segment = undefined;
    // A dead process's lock file stays behind; only forget that this process holds it.
    directoriesOpenInThisProcess.delete(resolve(this.dir));
    await this.compacting?.catch(() => undefined);
  }

  private segmentPath(number: number): string {
    return join(this.dir, `journal-${String(number).padStart(10, '0')}.log`);
  }

  private async segmentNumbers(): Promise<number[]> {
    const names = await readdir(this.dir);
    return names
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((digits): digits is string => digits !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private async createSegment(number: number): Promise<Segment> {
    const handle = await open(this.segmentPath(number), 'a');
    await fsyncDirectory(this.dir);
    return { number, handle };
  }
}

/**
 * One engine per data directory: two writers would interleave their journals. The lock file holds
 * the owner's pid; a lock left by a dead process (kill -9) is taken over.
 */
async function acquireLock(dir: string): Promise<void> {
  const key = resolve(dir);
  if (directoriesOpenInThisProcess.has(key)) {
    throw new Error(`the data directory ${dir} is already open in this process`);
  }
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      directoriesOpenInThisProcess.add(key);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isProcessAlive(owner)) {
      throw new Error(`the data directory ${dir} is in use by process ${owner}`);
    }
    await rm(path, { force: true });
  }
  throw new Error(`could not lock the data directory ${dir}`);
}

async function releaseLock(dir: string): Promise<void> {
  directoriesOpenInThisProcess.delete(resolve(dir));
  await rm(join(dir, LOCK_FILE), { force: true });
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

async function* readLines(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) yield line;
  } finally {
    lines.close();
    stream.destroy();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function writeFully(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
