import { generateKeyPairSync, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsSigner } from '../../lambdas/adapters/signers';
import { JWS_TYPES, verifyJws } from '../../sdk/src/index';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/0f0e0d0c-1111-2222-3333-444455556666';

/**
 * KMS as its API documents Ed25519 keys: GetPublicKey answers the DER SubjectPublicKeyInfo, and
 * Sign with ED25519_SHA_512 and MessageType RAW answers the 64-byte pure Ed25519 signature of
 * the message. The mock signs with a local key standing in for the one inside KMS.
 */
const kms = mockClient(KMSClient);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');

beforeEach(() => {
  kms.reset();
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ARN,
    KeySpec: 'ECC_NIST_EDWARDS25519',
    PublicKey: publicKey.export({ format: 'der', type: 'spki' }),
  });
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({
    KeyId: KEY_ARN,
    SigningAlgorithm: 'ED25519_SHA_512',
    Signature: sign(null, Buffer.from(input.Message), privateKey),
  }));
});

describe('KmsSigner', () => {
  it('signs the JWS signing input raw with ED25519_SHA_512, named by the key id', async () => {
    const signer = new KmsSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ARN);
    const jws = await signer.sign(JWS_TYPES.receipt, { intent_id: 'int_1' });

    const [call] = kms.commandCalls(SignCommand);
    const [header, payload] = jws.split('.');
    expect(call?.args[0].input).toEqual({
      KeyId: KEY_ARN,
      Message: Buffer.from(`${header}.${payload}`, 'ascii'),
      MessageType: 'RAW',
      SigningAlgorithm: 'ED25519_SHA_512',
    });
    const keys = await signer.publicKeys();
    expect(keys.keys).toEqual([
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: publicKey.export({ format: 'jwk' }).x,
        kid: '0f0e0d0c-1111-2222-3333-444455556666',
        alg: 'EdDSA',
        use: 'sig',
      },
    ]);
    expect(verifyJws(jws, keys, JWS_TYPES.receipt)).toMatchObject({
      ok: true,
      claims: { intent_id: 'int_1' },
      kid: '0f0e0d0c-1111-2222-3333-444455556666',
    });
    // Signing never reads the public key; the JWKS reads it once per container.
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
    await signer.publicKeys();
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });

  it('reads the public key again after a failed read instead of keeping the failure', async () => {
    kms
      .on(GetPublicKeyCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({
        PublicKey: publicKey.export({ format: 'der', type: 'spki' }),
      });
    const signer = new KmsSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ARN);
    await expect(signer.publicKeys()).rejects.toThrow('throttled');
    await expect(signer.publicKeys()).resolves.toMatchObject({ keys: [{ kty: 'OKP' }] });
  });
});
