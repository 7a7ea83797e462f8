import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { HubSettings } from '../config.js';

export interface HubCredentials {
  readonly username: string;
  readonly password: string;
}

/** The credentials secret (contract §2): JSON {"username","password"}. Read only when the environment has none. */
export async function readSecretCredentials(
  secretId: string,
  region: string,
  client = new SecretsManagerClient({ region }),
): Promise<HubCredentials> {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret.SecretString ?? '');
  } catch {
    throw new Error(`secret ${secretId} is not JSON`);
  }
  const { username, password } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string')
    throw new Error(`secret ${secretId} lacks "username" and "password"`);
  return { username, password };
}

/** Where the API credentials come from: the environment when it has both, else the Secrets Manager secret. */
export function credentialsFrom(hub: HubSettings): () => Promise<HubCredentials> {
  const { username, password } = hub;
  if (username !== undefined && password !== undefined) return async () => ({ username, password });
  return () => readSecretCredentials(hub.credentialsSecret, hub.credentialsSecretRegion);
}
