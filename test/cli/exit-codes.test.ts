import { describe, expect, it } from 'vitest';
import { CliError, EXIT, exitCodeOf } from '../../sdk/src/cli/context.js';
import { run } from '../../sdk/src/cli/run.js';
import { CountersignError, CountersignNetworkError } from '../../sdk/src/index.js';

/**
 * Which exit code each kind of failure gets, for the cases the binary tests (test/cli) cannot
 * provoke from outside: a 429, an answer outside the contract, a fault inside the CLI.
 */
const apiError = (status: number | undefined, code = 'internal') =>
  new CountersignError('x', { code: code as CountersignError['code'], status });

describe('exitCodeOf', () => {
  it.each([
    ['409 already decided', apiError(409, 'already_decided'), EXIT.REFUSED],
    ['404 not found', apiError(404, 'not_found'), EXIT.REFUSED],
    ['400 invalid', apiError(400, 'validation_failed'), EXIT.REFUSED],
    ['401 unknown key', apiError(401, 'unauthenticated'), EXIT.AUTH],
    ['403 role', apiError(403, 'forbidden'), EXIT.AUTH],
    ['429 rate limited', apiError(429, 'rate_limited'), EXIT.UNAVAILABLE],
    ['500', apiError(500), EXIT.UNAVAILABLE],
    ['502 from a proxy', apiError(502, 'http_502'), EXIT.UNAVAILABLE],
    ['a 200 the contract does not allow', apiError(200, 'invalid_response'), EXIT.UNAVAILABLE],
    [
      'no answer',
      new CountersignNetworkError('could not reach', { cause: new Error('ECONNREFUSED') }),
      EXIT.UNAVAILABLE,
    ],
    ['a bug in the CLI', new TypeError('x is not a function'), EXIT.INTERNAL],
    [
      'a local file',
      new CliError('Cannot write f', { exitCode: EXIT.LOCAL, code: 'output_unwritable' }),
      EXIT.LOCAL,
    ],
  ])('%s', (_name, error, code) => {
    expect(exitCodeOf(error)).toBe(code);
  });

  it('gives every kind its own number, as the help documents them', async () => {
    let help = '';
    const code = await run(['--help'], {
      stdout: (text) => {
        help += text;
      },
      stderr: () => undefined,
      env: {},
      signal: new AbortController().signal,
      readStdin: async () => '',
      now: () => new Date(),
    });
    expect(code).toBe(EXIT.OK);
    for (const value of Object.values(EXIT)) {
      expect(help).toMatch(new RegExp(`^ {2}${value} +\\S`, 'm'));
    }
    expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
  });
});
