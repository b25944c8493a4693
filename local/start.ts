import { startLocalStack } from './stack';

/** `npm start`: the whole service on this machine, until Ctrl-C. */

// Lambda runs Node 22; Node 20 is supported locally on purpose (see the README), so the AWS
// SDK's notice about its future Node 22 requirement is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Everything the stack writes (review links in the outbox, the engine's journal, DynamoDB Local's
// files) is the user's alone, whoever else shares the machine.
process.umask(0o077);
const port = Number(process.env.COUNTERSIGN_PORT ?? 4700);
const dataDir = process.env.COUNTERSIGN_DATA_DIR ?? '.countersign';

let stopping = false;
// A part that died and could not be brought back: say why and stop, rather than answer errors.
const stopForGood = (reason: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`Countersign stopped: ${reason}`);
  stack.close().finally(() => process.exit(1));
};
const stack = await startLocalStack({ dataDir, port, onFatal: stopForGood }).catch(
  (error: unknown) => {
    console.error(
      `Countersign could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  },
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping Countersign...');
    stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
