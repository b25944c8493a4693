import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { intentChanges } from '../lambdas/core/intent-changes';
import {
  MAX_MESSAGE_BYTES,
  MAX_SUBSCRIPTIONS_PER_CONNECTION,
  mayPush,
  type WaitChannelDeps,
  type WaitReply,
  type WaitSubscriptions,
} from '../lambdas/core/wait-channel';
import { DomainError } from '../lambdas/domain/errors';
import { toView } from '../lambdas/domain/intent';
import type { Logger } from '../lambdas/shared/logger';
import { isLoopbackHost } from './request-guard';

/**
 * The wait channel on the local stack: the same messages as API Gateway's WebSocket API in AWS
 * (`lambdas/core/wait-channel.ts`), answered by the same function, on the API server's port at
 * `WAIT_SOCKET_PATH`. Where AWS records a subscription as an item and pushes from the table's
 * stream, this listens to the in-process announcement of each commit (`intent-changes.ts`), so
 * a decision reaches a waiting agent within a loopback round trip. Like every local server it
 * answers only upgrades addressed to its loopback address, and refuses a browser page of
 * another origin (a web page may open a WebSocket to any address).
 */
export const WAIT_SOCKET_PATH = '/v1/wait';

export interface LocalWaitSocketOptions {
  answer(raw: string, subscriptions: WaitSubscriptions): Promise<WaitReply>;
  deps(): Promise<WaitChannelDeps>;
  log: Logger;
}

export function attachWaitSocket(server: Server, options: LocalWaitSocketOptions) {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { port, address } = server.address() as AddressInfo;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const refusal =
      path !== WAIT_SOCKET_PATH
        ? '404 Not Found'
        : !isLoopbackHost(req.headers.host, port, address) || !sameMachineOrigin(req, port)
          ? '403 Forbidden'
          : undefined;
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (client) => serve(client));
  };
  server.on('upgrade', onUpgrade);

  function serve(client: WebSocket) {
    const subscribed = new Map<string, () => void>();
    const send = (reply: WaitReply) => {
      if (client.readyState === client.OPEN) client.send(JSON.stringify(reply));
    };
    const subscriptions: WaitSubscriptions = {
      add: async (intentId, subscriber) => {
        subscribed.get(intentId)?.();
        subscribed.delete(intentId);
        if (subscribed.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          throw new DomainError(
            'invalid_request',
            `One connection may wait for at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} intents.`,
          );
        }
        const stop = intentChanges.listen(intentId, (committed) => {
          if (committed.status === 'pending') return;
          stop();
          subscribed.delete(intentId);
          options
            .deps()
            .then((deps) => mayPush(deps, subscriber, committed))
            .then(
              (allowed) => allowed && send({ type: 'intent', intent: toView(committed) }),
              (error: unknown) => options.log.error('wait channel push failed', { error }),
            );
        });
        subscribed.set(intentId, stop);
      },
      remove: async (intentId) => {
        subscribed.get(intentId)?.();
        subscribed.delete(intentId);
      },
    };
    client.on('message', (data, isBinary) => {
      const raw = isBinary ? '' : data.toString();
      options.answer(raw, subscriptions).then(send, (error: unknown) => {
        options.log.error('wait channel message failed', { error });
      });
    });
    client.on('close', () => {
      for (const stop of subscribed.values()) stop();
      subscribed.clear();
    });
    client.on('error', () => client.terminate());
  }

  return {
    close(): void {
      server.off('upgrade', onUpgrade);
      for (const client of sockets.clients) client.terminate();
      sockets.close();
    },
  };
}

/** No Origin (an SDK, a CLI) or this server's own; a page elsewhere gets no channel. */
function sameMachineOrigin(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return ['127.0.0.1', 'localhost', '[::1]'].some((host) => origin === `http://${host}:${port}`);
}
