import { describe, expect, it } from 'vitest';
import type { Principal } from '../../lambdas/core/auth';
import type { ReviewerProfileRepository } from '../../lambdas/core/ports';
import {
  getReviewerProfile,
  listReviewerProfiles,
  loadProfiles,
  putReviewerProfile,
} from '../../lambdas/core/reviewer-profiles';
import type { ReviewerProfile } from '../../lambdas/domain/availability';

function memoryProfiles(): ReviewerProfileRepository {
  const items = new Map<string, ReviewerProfile>();
  return {
    put: async (profile) => void items.set(profile.email, profile),
    get: async (email) => items.get(email) ?? null,
    getMany: async (emails) => {
      const found = new Map<string, ReviewerProfile>();
      for (const email of emails) {
        const profile = items.get(email);
        if (profile) found.set(email, profile);
      }
      return found;
    },
    list: async () => [...items.values()],
  };
}

const NOW = new Date('2026-12-24T10:00:00.000Z');
const reviewer = (name: string): Principal => ({ role: 'reviewer', name, keyId: `key_${name}` });
const admin: Principal = { role: 'admin', name: 'ops', keyId: 'key_admin' };
const agent: Principal = { role: 'agent', name: 'agent://x', keyId: 'key_agent' };

function deps(allowedReviewerDomains?: string[]) {
  return {
    profiles: memoryProfiles(),
    clock: { now: () => NOW },
    ...(allowedReviewerDomains ? { allowedReviewerDomains } : {}),
  };
}

describe('reviewer profiles', () => {
  it('a reviewer sets their own (any spelling, or me); nobody else but an admin may', async () => {
    const d = deps();
    const set = await putReviewerProfile(d, reviewer('Ada@Company.com'), 'ada%40company.com', {
      time_zone: 'Europe/Berlin',
      working_hours: { mon: ['09:00-17:30'] },
    });
    expect(set).toMatchObject({
      created: true,
      profile: {
        email: 'ada@company.com',
        time_zone: 'Europe/Berlin',
        updated_by: 'ada@company.com',
      },
    });
    expect(await getReviewerProfile(d, reviewer('ada@company.com'), 'me')).toMatchObject({
      email: 'ada@company.com',
      working_hours: { mon: ['09:00-17:30'] },
    });
    await expect(
      putReviewerProfile(d, reviewer('bob@company.com'), 'ada@company.com', { time_zone: 'UTC' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(getReviewerProfile(d, agent, 'ada@company.com')).rejects.toMatchObject({
      code: 'forbidden',
    });
    const byAdmin = await putReviewerProfile(d, admin, 'ada@company.com', { time_zone: 'UTC' });
    expect(byAdmin).toMatchObject({
      created: false,
      profile: { time_zone: 'UTC', working_hours: { mon: ['09:00-17:30'] }, updated_by: 'ops' },
    });
    await expect(getReviewerProfile(d, admin, 'me')).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('reads a reviewer without a profile as always available', async () => {
    expect(await getReviewerProfile(deps(), reviewer('new@company.com'), 'me')).toEqual({
      email: 'new@company.com',
      time_zone: 'UTC',
      working_hours: null,
      out_of_office: null,
      updated_at: null,
      updated_by: null,
    });
  });

  it('refuses bad input with the field named, never a 5xx', async () => {
    const d = deps(['company.com']);
    for (const [email, body, field] of [
      ['nobody', { time_zone: 'UTC' }, 'email'],
      ['ada@company.com', { time_zone: 'Mars/Base' }, 'time_zone'],
      ['ada@company.com', { working_hours: { mon: ['9-5'] } }, 'working_hours.mon.0'],
      ['ada@company.com', { colour: 'blue' }, ''],
      [
        'ada@company.com',
        {
          out_of_office: {
            from: '2026-12-24T00:00:00Z',
            until: '2027-01-01T00:00:00Z',
            delegate: 'x@evil.example',
          },
        },
        'out_of_office.delegate',
      ],
      [
        'ada@company.com',
        {
          out_of_office: {
            from: '2026-12-24T00:00:00Z',
            until: '2027-01-01T00:00:00Z',
            delegate: 'ada@company.com',
          },
        },
        'out_of_office.delegate',
      ],
    ] as const) {
      const refused = await putReviewerProfile(d, admin, email, body).catch((error) => error);
      expect(refused, JSON.stringify(body)).toMatchObject({ name: expect.stringMatching(/Error/) });
      const details = (refused.details ?? refused.issues ?? []) as {
        field?: string;
        path?: unknown[];
      }[];
      if (field) {
        const fields = details.map((d) => d.field ?? (d.path ?? []).join('.'));
        expect(fields, JSON.stringify(body)).toContain(field);
      }
    }
  });

  it('lists who is away now for admins only', async () => {
    const d = deps();
    const away = {
      from: '2026-12-20T00:00:00Z',
      until: '2027-01-02T00:00:00Z',
      delegate: 'deputy@company.com',
    };
    await putReviewerProfile(d, admin, 'away@company.com', { out_of_office: away });
    await putReviewerProfile(d, admin, 'later@company.com', {
      out_of_office: { ...away, from: '2027-02-01T00:00:00Z', until: '2027-02-08T00:00:00Z' },
    });
    await putReviewerProfile(d, admin, 'here@company.com', { time_zone: 'UTC' });
    const emails = async (query: Record<string, string>) =>
      (await listReviewerProfiles(d, admin, query)).items.map((p) => p.email);
    expect(await emails({ out_of_office: 'true' })).toEqual(['away@company.com']);
    expect(await emails({ out_of_office: 'false' })).toEqual([
      'here@company.com',
      'later@company.com',
    ]);
    expect(await emails({})).toHaveLength(3);
    await expect(listReviewerProfiles(d, admin, { out_of_office: 'yes' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(listReviewerProfiles(d, reviewer('away@company.com'), {})).rejects.toMatchObject({
      code: 'forbidden',
    });
    // The workflow reads the away reviewer's profile and their delegate's.
    await putReviewerProfile(d, admin, 'deputy@company.com', { time_zone: 'Asia/Tokyo' });
    const loaded = await loadProfiles(d.profiles, ['away@company.com'], NOW.getTime());
    expect([...loaded.keys()].sort()).toEqual(['away@company.com', 'deputy@company.com']);
  });
});
