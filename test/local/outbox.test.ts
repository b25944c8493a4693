import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../local/outbox';

const dirs: string[] = [];
const newFile = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  return path.join(dir, 'outbox.jsonl');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const email = (to: string) => ({
  channel: 'email' as const,
  to,
  subject: `Approval needed for ${to}`,
  text: 'text',
  review_url: 'http://127.0.0.1/review/t',
  intent_id: 'int_1',
  kind: 'notify',
});

describe('Outbox', () => {
  it('keeps messages oldest first across a restart, and tells subscribers', () => {
    const file = newFile();
    const outbox = new Outbox(file);
    const seen: string[] = [];
    outbox.subscribe((item) => seen.push(item.to));
    const first = outbox.append(email('a@x.com'));
    outbox.append(email('b@x.com'));
    expect(first.id).toMatch(/^msg_/);
    expect(seen).toEqual(['a@x.com', 'b@x.com']);
    expect(new Outbox(file).list().map((item) => item.to)).toEqual(['a@x.com', 'b@x.com']);
  });

  it('updates a message in place, and the update survives a restart', () => {
    const file = newFile();
    const outbox = new Outbox(file);
    const first = outbox.append(email('a@x.com'));
    outbox.append(email('b@x.com'));
    outbox.update(first.id, (item) => ({ ...item, text: 'Approved by a@x.com' }));
    const reloaded = new Outbox(file).list();
    expect(reloaded.map((item) => [item.to, item.text])).toEqual([
      ['a@x.com', 'Approved by a@x.com'],
      ['b@x.com', 'text'],
    ]);
    expect(outbox.update('msg_missing', (item) => item)).toBeUndefined();
  });

  it('skips a line cut short by a crash and keeps everything before it', () => {
    const file = newFile();
    new Outbox(file).append(email('a@x.com'));
    appendFileSync(file, '{"id":"msg_partial","chan');
    const reloaded = new Outbox(file);
    expect(reloaded.list().map((item) => item.to)).toEqual(['a@x.com']);
    reloaded.append(email('c@x.com'));
    expect(new Outbox(file).list().map((item) => item.to)).toEqual(['a@x.com', 'c@x.com']);
  });
});
