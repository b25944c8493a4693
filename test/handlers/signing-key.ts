import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { KeyFileSigner } from '../../lambdas/adapters/signers';

/**
 * An Ed25519 key file made once per test process, as the local stack makes one per data dir:
 * the signer of receipts and callbacks in unit and handler tests.
 */
let keyFile: string | undefined;

export function testSigningKeyFile(): string {
  if (keyFile) return keyFile;
  const { privateKey } = generateKeyPairSync('ed25519');
  keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'countersign-signing-')), 'signing-key.pem');
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  return keyFile;
}

export function testSigner(): KeyFileSigner {
  return new KeyFileSigner(testSigningKeyFile());
}
