import type { ApiKeyRecord, KeyRepository } from '../../lambdas/core/ports';

/** API keys in memory, for core tests of authentication and key management. */
export class MemoryKeys implements KeyRepository {
  readonly records: ApiKeyRecord[] = [];
  async findByHash(hash: string) {
    return this.records.find((record) => record.key_hash === hash) ?? null;
  }
  async put(record: ApiKeyRecord) {
    this.records.push(record);
  }
  async list() {
    return this.records;
  }
  async revoke() {
    return null;
  }
}
