/**
 * The deployment's signing key behind the `Signer` port. In AWS, `KmsSigner`: the Ed25519 key
 * lives in KMS (`ECC_NIST_EDWARDS25519`) and never leaves it; each signature is one `kms:Sign`
 * (`ED25519_SHA_512`, a raw message: KMS signs pure Ed25519, as JWS `EdDSA` wants), and the
 * public key is read once per container with `kms:GetPublicKey`. Locally, `KeyFileSigner`: the
 * same algorithm with a PKCS #8 PEM file in the data directory (mode 0600), made on first start.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { Signer } from '../core/ports';
import { encodeJws, type JsonWebKeySet, type PublicJwk } from '../domain/receipts';

/** The public JWK of an Ed25519 key, named by `kid`. */
function publicJwk(key: KeyObject, kid: string): PublicJwk {
  const { kty, crv, x } = key.export({ format: 'jwk' });
  if (kty !== 'OKP' || crv !== 'Ed25519' || !x) {
    throw new Error('the signing key is not an Ed25519 key');
  }
  return { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' };
}

/** The RFC 7638 thumbprint of an Ed25519 public key: a `kid` that names the key itself. */
export function jwkThumbprint(jwk: { crv?: string; kty: string; x?: string }): string {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(members, 'utf8').digest('base64url');
}

/** Signs with an Ed25519 private key read from a PEM file (local mode). */
export class KeyFileSigner implements Signer {
  private key: Promise<{ privateKey: KeyObject; jwk: PublicJwk }> | undefined;

  constructor(private readonly file: string) {}

  private load() {
    this.key ??= readFile(this.file, 'utf8').then((pem) => {
      const privateKey = createPrivateKey(pem);
      const publicKey = createPublicKey(privateKey);
      const jwk = publicJwk(publicKey, '');
      return { privateKey, jwk: { ...jwk, kid: jwkThumbprint(jwk) } };
    });
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  async sign(typ: string, claims: object): Promise<string> {
    const { privateKey, jwk } = await this.load();
    return encodeJws({ alg: 'EdDSA', kid: jwk.kid, typ }, claims, (input) =>
      sign(null, input, privateKey),
    );
  }

  async publicKeys(): Promise<JsonWebKeySet> {
    return { keys: [(await this.load()).jwk] };
  }
}

/**
 * Signs with an Ed25519 KMS key. `kid` is the key's id (the last part of its ARN), so signing
 * needs no `kms:GetPublicKey`; only the JWKS endpoint reads the public key.
 */
export class KmsSigner implements Signer {
  private jwk: Promise<PublicJwk> | undefined;
  readonly kid: string;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyArn: string,
  ) {
    this.kid = keyArn.split('/').at(-1) ?? keyArn;
  }

  sign(typ: string, claims: object): Promise<string> {
    return encodeJws({ alg: 'EdDSA', kid: this.kid, typ }, claims, async (input) => {
      const answer = await this.kms.send(
        new SignCommand({
          KeyId: this.keyArn,
          Message: input,
          MessageType: 'RAW',
          SigningAlgorithm: 'ED25519_SHA_512',
        }),
      );
      if (!answer.Signature) throw new Error(`KMS returned no signature for ${this.kid}`);
      return answer.Signature;
    });
  }

  async publicKeys(): Promise<JsonWebKeySet> {
    this.jwk ??= this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyArn })).then((answer) => {
      if (!answer.PublicKey) throw new Error(`KMS returned no public key for ${this.kid}`);
      const key = createPublicKey({
        key: Buffer.from(answer.PublicKey),
        format: 'der',
        type: 'spki',
      });
      return publicJwk(key, this.kid);
    });
    this.jwk.catch(() => {
      this.jwk = undefined;
    });
    return { keys: [await this.jwk] };
  }
}
