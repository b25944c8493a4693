import { synthesizeTemplate } from '../local/synthesize';
import { costReport } from './cost-model';

/**
 * `npm run cost`: one JSON line of what Countersign costs in AWS (us-east-1 list prices), from
 * the stack this repository synthesizes and the cost model of docs/cost.md (`cost-model.ts`).
 */
const report = await costReport(synthesizeTemplate());
process.stdout.write(`${JSON.stringify(report)}\n`);
