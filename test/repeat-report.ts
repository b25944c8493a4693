/**
 * What one `vitest run` of `npm run test:repeat` counts as failed, from its JSON report and exit
 * status: every failed test; a file that failed while none of its tests did (a `beforeAll` that
 * threw, an import error); and a run that exited non-zero with neither (an unhandled error).
 */
export interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { fullName: string; status: string; failureMessages?: string[] }[];
  }[];
}

export interface Failure {
  test: string;
  message: string;
}

export function runFailures(
  report: JsonReport | undefined,
  exitStatus: number | null,
  root: string,
): Failure[] {
  if (report === undefined) {
    return [{ test: `vitest wrote no report (exit ${exitStatus})`, message: '' }];
  }
  const failures: Failure[] = [];
  for (const file of report.testResults) {
    const name = file.name.replace(`${root}/`, '');
    const failedTests = file.assertionResults.filter((test) => test.status === 'failed');
    if (file.status === 'failed' && failedTests.length === 0) {
      failures.push({ test: `${name} (the file failed)`, message: file.message ?? '' });
    }
    for (const test of failedTests) {
      failures.push({
        test: `${name} › ${test.fullName}`,
        message: test.failureMessages?.[0] ?? '',
      });
    }
  }
  if (exitStatus !== 0 && failures.length === 0) {
    failures.push({
      test: `vitest exited ${exitStatus} with no failed test (an unhandled error: see its output)`,
      message: '',
    });
  }
  return failures;
}
