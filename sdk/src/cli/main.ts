#!/usr/bin/env node
/**
 * The `countersign` binary: wires the CLI to this process (stdout, stderr, the environment,
 * Ctrl-C) and exits with the code the command returned.
 */
import { createInterface } from 'node:readline';
import { run } from './run.js';

const interrupt = new AbortController();
let interrupts = 0;
const onSignal = (): void => {
  interrupts += 1;
  // The first Ctrl-C lets the command finish cleanly (watch exits 0); a second one forces.
  if (interrupts > 1) process.exit(130);
  interrupt.abort(new DOMException('Interrupted', 'AbortError'));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One line as the user types it (Enter), without waiting for the end of the input. */
function readLine(): Promise<string | null> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  return new Promise((resolve) => {
    let answered = false;
    lines.once('line', (line) => {
      answered = true;
      lines.close();
      resolve(line);
    });
    lines.once('close', () => {
      if (!answered) resolve(null);
    });
  });
}

const code = await run(process.argv.slice(2), {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  env: process.env,
  signal: interrupt.signal,
  readStdin,
  readLine,
  now: () => new Date(),
});
process.exitCode = code;
// Let pending writes to a pipe drain; nothing else keeps the process alive once a command ends.
process.removeListener('SIGINT', onSignal);
process.removeListener('SIGTERM', onSignal);
