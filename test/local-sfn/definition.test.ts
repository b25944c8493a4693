import { describe, expect, it } from 'vitest';
import { compileDefinition, type TaskState } from '../../local/stepfunctions/definition';
import {
  InvalidDefinitionError,
  LocalStepFunctions,
  UnsupportedDefinitionError,
} from '../../local/stepfunctions/index';
import { callbackTask, functionArn, invokeTask, temporaryDirectory } from './helpers';

function machine(states: Record<string, object>, startAt = Object.keys(states)[0]): object {
  return { StartAt: startAt, States: states };
}

function loadError(definition: object): Error {
  try {
    compileDefinition(definition);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the definition was accepted');
}

describe('definition loading', () => {
  it('refuses Parallel and Map naming the state and field', () => {
    const parallel = loadError(machine({ Fan: { Type: 'Parallel', Branches: [], End: true } }));
    expect(parallel).toBeInstanceOf(UnsupportedDefinitionError);
    expect(parallel.message).toMatch(/^state "Fan": field "Type" is not supported/);
    const map = loadError(machine({ Each: { Type: 'Map', End: true } }));
    expect(map.message).toMatch(/^state "Each": field "Type" is not supported/);
  });

  it('refuses unsupported fields and resources', () => {
    const cases: [object, RegExp][] = [
      [
        machine({ T: { ...invokeTask('f'), Credentials: { RoleArn: 'x' }, End: true } }),
        /state "T": field "Credentials" is not supported/,
      ],
      [
        machine({ T: { ...invokeTask('f'), Arguments: {}, End: true } }),
        /state "T": field "Arguments" is not supported/,
      ],
      [
        machine({ P: { Type: 'Pass', Assign: { a: 1 }, End: true } }),
        /state "P": field "Assign" is not supported/,
      ],
      [
        machine({ T: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } }),
        /state "T": field "Resource" is not supported/,
      ],
      [
        machine({
          T: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.sync',
            Parameters: {},
            End: true,
          },
        }),
        /field "Resource" is not supported/,
      ],
      [
        machine({
          T: {
            ...invokeTask('f'),
            Parameters: { FunctionName: 'x', InvocationType: 'Event' },
            End: true,
          },
        }),
        /field "Parameters.InvocationType" is not supported/,
      ],
      [
        machine({ T: { ...invokeTask('f'), HeartbeatSeconds: 5, End: true } }),
        /state "T": field "HeartbeatSeconds" is not supported/,
      ],
      [
        machine({ P: { Type: 'Pass', QueryLanguage: 'JSONata', End: true } }),
        /field "QueryLanguage" is not supported/,
      ],
      [
        machine({ P: { Type: 'Pass', Parameters: { 'a.$': '$..x' }, End: true } }),
        /field "Parameters.a.\$" is not supported/,
      ],
      [
        machine({ P: { Type: 'Pass', Parameters: { 'a.$': 'States.Nope(1)' }, End: true } }),
        /field "Parameters.a.\$" is not supported/,
      ],
      [
        machine({
          T: { ...invokeTask('f'), Retry: [{ ErrorEquals: ['States.ALL'], Foo: 1 }], End: true },
        }),
        /field "Retry\[0\].Foo" is not supported/,
      ],
      [
        { ...machine({ P: { Type: 'Pass', End: true } }), QueryLanguage: 'JSONata' },
        /QueryLanguage/,
      ],
    ];
    for (const [definition, message] of cases) {
      const error = loadError(definition);
      expect(error, message.source).toBeInstanceOf(UnsupportedDefinitionError);
      expect(error.message).toMatch(message);
    }
  });

  it('refuses malformed definitions', () => {
    const cases: [object, RegExp][] = [
      [
        machine({ P: { Type: 'Pass', Next: 'Nowhere' } }),
        /state "P": field "Next": transition to a state that does not exist/,
      ],
      [machine({ P: { Type: 'Pass' } }), /needs either "Next" or "End"/],
      [{ StartAt: 'X', States: { P: { Type: 'Pass', End: true } } }, /StartAt/],
      [
        machine({
          T: {
            ...invokeTask('f'),
            Retry: [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['E'] }],
            End: true,
          },
        }),
        /must be in the last/,
      ],
      [
        machine({
          T: {
            ...invokeTask('f'),
            Catch: [{ ErrorEquals: ['States.ALL', 'E'], Next: 'T' }],
            End: true,
          },
        }),
        /must appear alone/,
      ],
      [
        machine({
          T: { ...invokeTask('f'), Retry: [{ ErrorEquals: ['E'], BackoffRate: 0.5 }], End: true },
        }),
        /BackoffRate/,
      ],
      [
        machine({
          T: { ...invokeTask('f'), TimeoutSeconds: 5, TimeoutSecondsPath: '$.t', End: true },
        }),
        /both TimeoutSeconds and TimeoutSecondsPath/,
      ],
      [machine({ T: { ...invokeTask('f'), TimeoutSeconds: 0, End: true } }), /TimeoutSeconds/],
      [
        machine({ T: { ...callbackTask('f'), TimeoutSeconds: 5, HeartbeatSeconds: 5, End: true } }),
        /smaller than TimeoutSeconds/,
      ],
      [
        machine({ W: { Type: 'Wait', Seconds: 1, Timestamp: '2024-01-01T00:00:00Z', End: true } }),
        /exactly one of/,
      ],
      [machine({ W: { Type: 'Wait', Timestamp: '2024-01-01 00:00:00', End: true } }), /RFC 3339/],
      [
        machine({
          C: { Type: 'Choice', Choices: [{ Variable: '$.a', StringEquals: 1, Next: 'C' }] },
        }),
        /must be a string/,
      ],
      [
        machine({ C: { Type: 'Choice', Choices: [{ Variable: '$.a', Next: 'C' }] } }),
        /exactly one operator/,
      ],
      [
        machine({
          C: {
            Type: 'Choice',
            Choices: [{ And: [{ Variable: '$.a', IsNull: true, Next: 'C' }], Next: 'C' }],
          },
        }),
        /only top-level/,
      ],
      [
        machine({
          T: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { Payload: {} },
            End: true,
          },
        }),
        /FunctionName/,
      ],
    ];
    for (const [definition, message] of cases) {
      const error = loadError(definition);
      expect(error, message.source).toBeInstanceOf(InvalidDefinitionError);
      expect(error.message).toMatch(message);
    }
  });

  it('accepts what CDK emits for our workflow and applies AWS defaults', () => {
    const definition = compileDefinition({
      StartAt: 'T',
      States: {
        T: {
          ...invokeTask('f'),
          Comment: 'c',
          Retry: [{ ErrorEquals: ['States.TaskFailed'] }],
          ResultSelector: { 'x.$': '$.Payload.x' },
          ResultPath: '$.r',
          OutputPath: '$',
          InputPath: '$',
          End: true,
        },
      },
      TimeoutSeconds: 3600,
      Comment: 'top',
    });
    const task = definition.states.get('T') as TaskState;
    expect(task.retriers[0]).toEqual({
      errorEquals: ['States.TaskFailed'],
      intervalSeconds: 1,
      maxAttempts: 3,
      backoffRate: 2,
      jitter: 'NONE',
    });
    expect(task.timeout).toBeUndefined();
    expect(definition.timeoutSeconds).toBe(3600);
    expect(
      compileDefinition({
        StartAt: 'L',
        States: { L: { Type: 'Task', Resource: functionArn('plain'), End: true } },
      }).states.get('L'),
    ).toMatchObject({
      resource: { kind: 'lambda-function' },
    });
  });

  it('LocalStepFunctions.open rejects an unsupported machine before touching the journal', async () => {
    const directory = temporaryDirectory();
    try {
      await expect(
        LocalStepFunctions.open({
          dataDir: directory.path,
          stateMachines: [{ name: 'bad', definition: machine({ M: { Type: 'Map', End: true } }) }],
          invokeLambda: async () => null,
        }),
      ).rejects.toThrow(/state "M": field "Type" is not supported/);
    } finally {
      directory.remove();
    }
  });
});
