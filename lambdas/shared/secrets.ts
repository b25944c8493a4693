import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getOptionalStringFromEnv } from './config';

const secretsClient = new SecretsManagerClient({});
const cache = new Map<string, Promise<string>>();

/**
 * A secret named by configuration: `<NAME>_ARN` points to a Secrets Manager secret (the AWS
 * deployment, so the value is never in the template or the function's environment); `<NAME>`
 * holds the value directly (the local stack, which has no Secrets Manager). Fetched once per
 * container.
 */
export function secretFromEnv(name: string): Promise<string> {
  const cached = cache.get(name);
  if (cached) return cached;
  const loading = loadSecret(name);
  cache.set(name, loading);
  loading.catch(() => cache.delete(name));
  return loading;
}

async function loadSecret(name: string): Promise<string> {
  const arn = getOptionalStringFromEnv(`${name}_ARN`);
  if (arn) {
    const result = await secretsClient.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!result.SecretString) throw new Error(`Secret ${name}_ARN has no string value`);
    return result.SecretString;
  }
  const value = getOptionalStringFromEnv(name);
  if (!value) throw new Error(`Missing required configuration: set ${name}_ARN or ${name}`);
  return value;
}
