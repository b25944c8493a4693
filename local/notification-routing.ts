import type { StandInCredentials } from './stack';

/**
 * Where the local stack's notices go. By default SES and Slack are the stand-ins, which record
 * into the outbox. A user who wants real email or real Slack while trying Countersign on their
 * machine sets the variables below before `npm start`; the handlers then get the same
 * configuration they would get in AWS, pointing at the real services.
 *
 * Real email (SES v2): `COUNTERSIGN_EMAIL_FROM` (a sender verified in SES), AWS credentials
 * (`AWS_PROFILE`, or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`), optionally
 * `COUNTERSIGN_SES_REGION` (else `AWS_REGION`) and `COUNTERSIGN_SES_CONFIGURATION_SET`. The
 * user's credentials are kept for every client: DynamoDB Local (shared database) accepts any,
 * and the local engine accepts those.
 *
 * Real Slack: `COUNTERSIGN_SLACK_BOT_TOKEN` and `COUNTERSIGN_SLACK_SIGNING_SECRET` of the user's
 * Slack app, optionally `COUNTERSIGN_SLACK_API_URL` (a proxy). Button clicks reach the stack only
 * if the app's interactivity URL points at it (a tunnel to `/slack/interactions`).
 */
export interface NotificationRouting {
  email: 'ses' | 'stand-in';
  slack: 'slack' | 'stand-in';
  /** Variables to set for the handlers. */
  env: Record<string, string>;
  /** Variables to remove, so that nothing from the user's shell points elsewhere. */
  unset: string[];
  /** The secret Slack requests are signed with: the real app's, or the stand-in's. */
  slackSigningSecret: string;
}

export class LocalConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalConfigurationError';
  }
}

export function notificationRouting(
  userEnv: Record<string, string | undefined>,
  standIns: {
    sesEndpoint: string;
    slackApiUrl: string;
    slackSigningSecret: string;
    /** What the stand-ins accept (they answer no other credentials). */
    credentials: StandInCredentials;
  },
): NotificationRouting {
  const read = (name: string) => {
    const value = userEnv[name]?.trim();
    return value ? value : undefined;
  };
  const env: Record<string, string> = {};
  const unset: string[] = [];

  const emailFrom = read('COUNTERSIGN_EMAIL_FROM');
  if (emailFrom) {
    const region = read('COUNTERSIGN_SES_REGION') ?? read('AWS_REGION');
    if (!region) {
      throw new LocalConfigurationError(
        'COUNTERSIGN_EMAIL_FROM sends real email through SES: set COUNTERSIGN_SES_REGION (or AWS_REGION) to the region where the sender is verified.',
      );
    }
    if (!read('AWS_ACCESS_KEY_ID') && !read('AWS_PROFILE')) {
      throw new LocalConfigurationError(
        'COUNTERSIGN_EMAIL_FROM sends real email through SES with your AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.',
      );
    }
    env.EMAIL_FROM = emailFrom;
    env.SES_REGION = region;
    const configurationSet = read('COUNTERSIGN_SES_CONFIGURATION_SET');
    if (configurationSet) env.EMAIL_CONFIGURATION_SET = configurationSet;
    // A user's AWS_ENDPOINT_URL_SESV2 (a VPC endpoint, a test double) is theirs to keep.
  } else {
    // Nothing leaves the machine: the stand-ins' credentials, whatever the user's shell holds.
    env.AWS_ACCESS_KEY_ID = standIns.credentials.aws_access_key_id;
    env.AWS_SECRET_ACCESS_KEY = standIns.credentials.aws_secret_access_key;
    unset.push('AWS_SESSION_TOKEN', 'AWS_PROFILE');
    env.EMAIL_FROM = 'countersign@localhost';
    env.AWS_ENDPOINT_URL_SESV2 = standIns.sesEndpoint;
    unset.push('EMAIL_CONFIGURATION_SET', 'SES_REGION');
  }

  const slackToken = read('COUNTERSIGN_SLACK_BOT_TOKEN');
  const slackSecret = read('COUNTERSIGN_SLACK_SIGNING_SECRET');
  if (slackToken && !slackSecret) {
    throw new LocalConfigurationError(
      'COUNTERSIGN_SLACK_BOT_TOKEN needs COUNTERSIGN_SLACK_SIGNING_SECRET too (the Slack app’s signing secret), or Slack clicks could not be verified.',
    );
  }
  if (slackToken && slackSecret) {
    env.SLACK_BOT_TOKEN = slackToken;
    env.SLACK_SIGNING_SECRET = slackSecret;
    const apiUrl = read('COUNTERSIGN_SLACK_API_URL');
    if (apiUrl) env.SLACK_API_URL = apiUrl;
    else unset.push('SLACK_API_URL');
  } else {
    env.SLACK_API_URL = standIns.slackApiUrl;
    env.SLACK_BOT_TOKEN = standIns.credentials.slack_bot_token;
    env.SLACK_SIGNING_SECRET = standIns.slackSigningSecret;
  }

  return {
    email: emailFrom ? 'ses' : 'stand-in',
    slack: slackToken ? 'slack' : 'stand-in',
    env,
    unset,
    slackSigningSecret: env.SLACK_SIGNING_SECRET ?? standIns.slackSigningSecret,
  };
}
