import { describe, expect, it } from 'vitest';
import { LocalConfigurationError, notificationRouting } from '../../local/notification-routing';

const standIns = {
  sesEndpoint: 'http://127.0.0.1:4801',
  slackApiUrl: 'http://127.0.0.1:4802/api/',
  slackSigningSecret: 'stand-in-secret',
  credentials: {
    aws_access_key_id: 'LOCALSTANDIN',
    aws_secret_access_key: 'stand-in-aws-secret',
    slack_bot_token: 'xoxb-local-stand-in',
  },
};

describe('notificationRouting (npm start)', () => {
  it('sends to the stand-ins by default, with their credentials whatever the shell holds', () => {
    const routing = notificationRouting(
      { AWS_PROFILE: 'prod-admin', AWS_SESSION_TOKEN: 'abc', SLACK_API_URL: 'https://x' },
      standIns,
    );

    expect(routing).toMatchObject({ email: 'stand-in', slack: 'stand-in' });
    expect(routing.env).toMatchObject({
      AWS_ENDPOINT_URL_SESV2: standIns.sesEndpoint,
      AWS_ACCESS_KEY_ID: 'LOCALSTANDIN',
      AWS_SECRET_ACCESS_KEY: 'stand-in-aws-secret',
      SLACK_BOT_TOKEN: 'xoxb-local-stand-in',
      SLACK_API_URL: standIns.slackApiUrl,
      SLACK_SIGNING_SECRET: 'stand-in-secret',
    });
    expect(routing.unset).toEqual(expect.arrayContaining(['AWS_PROFILE', 'AWS_SESSION_TOKEN']));
  });

  it('uses real SES and Slack when configured, keeping the user credentials', () => {
    const routing = notificationRouting(
      {
        COUNTERSIGN_EMAIL_FROM: 'approvals@example.com',
        AWS_REGION: 'eu-central-1',
        AWS_PROFILE: 'countersign',
        COUNTERSIGN_SES_CONFIGURATION_SET: 'approvals',
        COUNTERSIGN_SLACK_BOT_TOKEN: 'xoxb-1',
        COUNTERSIGN_SLACK_SIGNING_SECRET: 'real-secret',
      },
      standIns,
    );

    expect(routing).toMatchObject({ email: 'ses', slack: 'slack' });
    expect(routing.env).toEqual({
      EMAIL_FROM: 'approvals@example.com',
      SES_REGION: 'eu-central-1',
      EMAIL_CONFIGURATION_SET: 'approvals',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'real-secret',
    });
    expect(routing.unset).toEqual(['SLACK_API_URL']);
    expect(routing.slackSigningSecret).toBe('real-secret');
  });

  it.each([
    [{ COUNTERSIGN_EMAIL_FROM: 'a@example.com', AWS_PROFILE: 'p' }, /COUNTERSIGN_SES_REGION/],
    [{ COUNTERSIGN_EMAIL_FROM: 'a@example.com', AWS_REGION: 'us-east-1' }, /AWS_PROFILE/],
    [{ COUNTERSIGN_SLACK_BOT_TOKEN: 'xoxb-1' }, /COUNTERSIGN_SLACK_SIGNING_SECRET/],
  ])('refuses to start half-configured (%o)', (env, message) => {
    expect(() => notificationRouting(env, standIns)).toThrowError(LocalConfigurationError);
    expect(() => notificationRouting(env, standIns)).toThrowError(message);
  });
});
