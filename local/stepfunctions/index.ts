/**
 * Countersign's durable local AWS Step Functions engine. See README.md in this folder.
 */
import { Engine, type LocalStepFunctionsOptions } from './engine.js';
import { type SfnHttpAccess, SfnHttpServer } from './http-server.js';

export { DEFAULT_TASK_TIMEOUT_SECONDS } from './definition.js';
export type {
  ExecutionStatus,
  LambdaInvoker,
  LocalStepFunctionsOptions,
  StateMachineSpec,
} from './engine.js';
export { InvalidDefinitionError, ServiceError, UnsupportedDefinitionError } from './errors.js';
export { JournalCorruptError } from './journal.js';

export class LocalStepFunctions extends Engine {
  private httpServer: SfnHttpServer | undefined;

  /**
   * Validates the definitions (throwing UnsupportedDefinitionError / InvalidDefinitionError that
   * name the state and field), replays the journal in `dataDir` and resumes running executions.
   */
  static async open(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
    const engine = new LocalStepFunctions(options);
    await engine.initialise();
    return engine;
  }

  /**
   * Serves the Step Functions API over HTTP; returns the endpoint URL. Port 0 picks a free port.
   * `access` names the credentials a request must be signed with (see http-server.ts).
   */
  async listen(port: number, host = '127.0.0.1', access: SfnHttpAccess = {}): Promise<string> {
    if (this.httpServer) throw new Error('already listening');
    const server = new SfnHttpServer(
      {
        StartExecution: (input) => this.startExecution(input),
        DescribeExecution: (input) => this.describeExecution(input),
        StopExecution: (input) => this.stopExecution(input),
        SendTaskSuccess: (input) => this.sendTaskSuccess(input),
        SendTaskFailure: (input) => this.sendTaskFailure(input),
        SendTaskHeartbeat: (input) => this.sendTaskHeartbeat(input),
        GetExecutionHistory: (input) => this.getExecutionHistory(input),
        ListExecutions: (input) => this.listExecutions(input),
        DescribeStateMachine: (input) => this.describeStateMachine(input),
        ListStateMachines: () => this.listStateMachines(),
      },
      access,
    );
    this.httpServer = server;
    return server.listen(port, host);
  }

  /** Stops timers, flushes the journal and closes the HTTP server. */
  async close(): Promise<void> {
    await this.httpServer?.close();
    this.httpServer = undefined;
    await this.shutdown();
  }

  /**
   * Test hook simulating `kill -9` inside the process: stops timers and the server and writes
   * nothing more. Open a new instance on the same dataDir to "restart".
   */
  async simulateCrash(): Promise<void> {
    await this.crash();
    await this.httpServer?.close();
    this.httpServer = undefined;
  }
}
