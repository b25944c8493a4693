import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../lambdas/domain/durations';

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['5m', 300],
    ['8h', 28800],
    ['2d', 172800],
    ['PT5M', 300],
    ['P1DT2H', 93600],
    ['pt30s', 30],
    [45, 45],
    ['600', 600],
  ])('reads %s as %i seconds', (input, seconds) => {
    expect(parseDuration(input)).toEqual({ seconds });
  });

  it.each([['0s'], [0], ['365d'], [-5], [1.5], ['5 minutes'], ['P'], ['PT'], [''], [null], [{}]])(
    'fails when given %j',
    (input) => {
      expect(parseDuration(input)).toHaveProperty('error');
    },
  );

  it('accepts exactly the bounds', () => {
    expect(parseDuration('1s')).toEqual({ seconds: 1 });
    expect(parseDuration('364d')).toEqual({ seconds: 364 * 86400 });
  });
});

describe('formatDuration', () => {
  it('keeps the two largest units', () => {
    expect(formatDuration(93784)).toBe('1d 2h');
    expect(formatDuration(90)).toBe('1m 30s');
    expect(formatDuration(0)).toBe('0s');
  });
});
