import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * One message a stand-in "sent", in the shape `GET /_local/outbox` serves; the console reads it
 * with `Block` the Slack block shape it renders.
 */
export interface OutboxItem<Block = unknown> {
  id: string;
  channel: 'email' | 'slack' | 'webhook';
  to: string;
  subject: string;
  text: string;
  html?: string;
  review_url: string | null;
  intent_id: string | null;
  kind: string | null;
  at: string;
  slack?: { channel: string; user: string | null; ts: string; blocks: Block[] };
  /** Webhook items only: one callback attempt, with the signature headers it carried. */
  webhook?: {
    attempt: number;
    ok: boolean;
    status: number | null;
    error: string | null;
    /** `Countersign-Signature` (deprecated HMAC). */
    signature: string;
    /** `Countersign-JWS` (absent on items recorded before callbacks carried it). */
    jws?: string;
  };
}

export type NewOutboxItem = Omit<OutboxItem, 'id' | 'at'> & { at?: string };

/**
 * What the local stand-ins sent, oldest first, kept as JSON lines under the data dir so that a
 * restart shows the same outbox. A line cut short by a crash is skipped, not fatal.
 */
export class Outbox {
  private readonly items: OutboxItem[] = [];
  private readonly listeners = new Set<(item: OutboxItem) => void>();

  constructor(private readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    // End a line cut short by a crash, so that the next message starts on a line of its own.
    if (text.length > 0 && !text.endsWith('\n')) appendFileSync(file, '\n', { mode: 0o600 });
    const byId = new Map<string, OutboxItem>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const item = JSON.parse(line) as OutboxItem;
        // A Map keeps the first position of a key, so an updated message stays in its place.
        byId.set(item.id, item);
      } catch {
        // The last line of a crashed run may be partial; everything before it is intact.
      }
    }
    this.items.push(...byId.values());
  }

  append(input: NewOutboxItem): OutboxItem {
    const item: OutboxItem = {
      ...input,
      id: `msg_${randomUUID()}`,
      at: input.at ?? new Date().toISOString(),
    };
    appendFileSync(this.file, `${JSON.stringify(item)}\n`, { mode: 0o600 });
    this.items.push(item);
    for (const listener of this.listeners) listener(item);
    return item;
  }

  /** Replaces an item in place (a Slack message updated with `chat.update`), keeping its order. */
  update(id: string, change: (item: OutboxItem) => OutboxItem): OutboxItem | undefined {
    const index = this.items.findIndex((item) => item.id === id);
    const current = this.items[index];
    if (!current) return undefined;
    const updated = { ...change(current), id: current.id };
    this.items[index] = updated;
    // The log stays append-only: the newer line for the same id wins when it is read back.
    appendFileSync(this.file, `${JSON.stringify(updated)}\n`);
    for (const listener of this.listeners) listener(updated);
    return updated;
  }

  list(): OutboxItem[] {
    return [...this.items];
  }

  subscribe(listener: (item: OutboxItem) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
