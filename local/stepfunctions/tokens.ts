/**
 * Task tokens. A token is opaque to callers but self-describing to the engine:
 *
 *   base64url( version | execution number | attempt step | 24 random bytes | HMAC-SHA256 tag )
 *
 * The 24 random bytes make it unguessable; the HMAC (keyed by a secret persisted in the data
 * directory) lets the engine tell a token it issued (answer: TaskTimedOut once that task is closed,
 * as AWS does for a second SendTaskSuccess) from a forged or mangled one (InvalidToken) without
 * remembering every token ever issued. The current token of a waiting task is stored in the
 * execution's journaled state, so it survives restarts unchanged.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory } from './journal.js';

const TOKEN_VERSION = 1;
const RANDOM_BYTES = 24;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 8 + 4;
const TOKEN_BYTES = HEADER_BYTES + RANDOM_BYTES + TAG_BYTES;
const SECRET_FILE = 'token-secret';

export interface DecodedToken {
  executionNumber: number;
  step: number;
}

export class TaskTokens {
  private constructor(private readonly secret: Buffer) {}

  /** Loads the HMAC secret from the data directory, creating it on first use. */
  static async load(dataDir: string): Promise<TaskTokens> {
    const path = join(dataDir, SECRET_FILE);
    try {
      const hex = (await readFile(path, 'utf8')).trim();
      if (/^[0-9a-f]{64}$/.test(hex)) return new TaskTokens(Buffer.from(hex, 'hex'));
    } catch {
      // Missing: create below.
    }
    const secret = randomBytes(32);
    await writeFile(path, secret.toString('hex'), { mode: 0o600, flush: true });
    await fsyncDirectory(dataDir);
    return new TaskTokens(secret);
  }

  mint(executionNumber: number, step: number): string {
    const body = Buffer.alloc(HEADER_BYTES + RANDOM_BYTES);
    body.writeUInt8(TOKEN_VERSION, 0);
    body.writeBigUInt64BE(BigInt(executionNumber), 1);
    body.writeUInt32BE(step >>> 0, 9);
    randomBytes(RANDOM_BYTES).copy(body, HEADER_BYTES);
    return Buffer.concat([body, this.tag(body)]).toString('base64url');
  }

  /** Returns the decoded token, or undefined if it is malformed or was not issued by this engine. */
  verify(token: string): DecodedToken | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length !== TOKEN_BYTES || bytes.readUInt8(0) !== TOKEN_VERSION) return undefined;
    const body = bytes.subarray(0, HEADER_BYTES + RANDOM_BYTES);
    const tag = bytes.subarray(HEADER_BYTES + RANDOM_BYTES);
    if (!timingSafeEqual(tag, this.tag(body))) return undefined;
    return { executionNumber: Number(bytes.readBigUInt64BE(1)), step: bytes.readUInt32BE(9) };
  }

  private tag(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, TAG_BYTES);
  }
}
