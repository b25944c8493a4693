import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createKey, deleteTeam, listKeys, listTeams, putTeam, revokeKey } from '../core/admin';
import { authenticate } from '../core/auth';
import { deletePolicy, dryRunPolicy, getPolicy, listPolicies, putPolicy } from '../core/policies';
import {
  getReviewerProfile,
  listReviewerProfiles,
  putReviewerProfile,
} from '../core/reviewer-profiles';
import {
  allowedReviewerDomains,
  inboxCredentials,
  intentRepository,
  keyRepository,
  policyServiceDeps,
  reviewerProfileRepository,
  teamRepository,
} from '../shared/deps';
import { header, json, parseJsonBody, pathParameter, routeHandler } from '../shared/http';

const clock = { now: () => new Date() };
const principalOf = (event: APIGatewayProxyEvent) =>
  authenticate(header(event, 'authorization'), keyRepository());

const profileDeps = () => ({
  profiles: reviewerProfileRepository(),
  clock,
  allowedReviewerDomains: allowedReviewerDomains(),
});

/** Keys, teams and operator policies: operator-only; reviewer profiles: also their reviewer. */
export const handler = routeHandler({
  'GET /v1/reviewers': async (event) =>
    json(
      200,
      await listReviewerProfiles(
        profileDeps(),
        await principalOf(event),
        event.queryStringParameters ?? {},
      ),
    ),
  'PUT /v1/reviewers/{email}': async (event) => {
    const { created, profile } = await putReviewerProfile(
      profileDeps(),
      await principalOf(event),
      pathParameter(event, 'email'),
      parseJsonBody(event),
    );
    return json(created ? 201 : 200, profile);
  },
  'GET /v1/reviewers/{email}': async (event) =>
    json(
      200,
      await getReviewerProfile(
        profileDeps(),
        await principalOf(event),
        pathParameter(event, 'email'),
      ),
    ),
  'GET /v1/policies': async (event) =>
    json(200, await listPolicies(policyServiceDeps(), await principalOf(event))),
  'POST /v1/policies/dry-run': async (event) =>
    json(
      200,
      await dryRunPolicy(
        { intents: intentRepository() },
        await principalOf(event),
        parseJsonBody(event),
      ),
    ),
  'PUT /v1/policies/{intent_type}': async (event) => {
    const { created, policy } = await putPolicy(
      policyServiceDeps(),
      await principalOf(event),
      pathParameter(event, 'intent_type'),
      parseJsonBody(event),
    );
    return json(created ? 201 : 200, policy);
  },
  'GET /v1/policies/{intent_type}': async (event) =>
    json(
      200,
      await getPolicy(
        policyServiceDeps(),
        await principalOf(event),
        pathParameter(event, 'intent_type'),
      ),
    ),
  'DELETE /v1/policies/{intent_type}': async (event) =>
    json(
      200,
      await deletePolicy(
        policyServiceDeps(),
        await principalOf(event),
        pathParameter(event, 'intent_type'),
      ),
    ),
  'POST /v1/keys': async (event) =>
    json(
      201,
      await createKey(
        keyRepository(),
        clock,
        await principalOf(event),
        parseJsonBody(event),
        allowedReviewerDomains(),
      ),
    ),
  'GET /v1/keys': async (event) =>
    json(200, await listKeys(keyRepository(), await principalOf(event))),
  'DELETE /v1/keys/{id}': async (event) =>
    json(
      200,
      await revokeKey(
        keyRepository(),
        clock,
        await principalOf(event),
        pathParameter(event, 'id'),
        inboxCredentials(),
      ),
    ),
  'POST /v1/teams': async (event) => {
    const { created, team } = await putTeam(
      teamRepository(),
      clock,
      await principalOf(event),
      parseJsonBody(event),
      allowedReviewerDomains(),
    );
    return json(created ? 201 : 200, team);
  },
  'GET /v1/teams': async (event) =>
    json(200, await listTeams(teamRepository(), await principalOf(event))),
  'DELETE /v1/teams/{name}': async (event) =>
    json(
      200,
      await deleteTeam(teamRepository(), await principalOf(event), pathParameter(event, 'name')),
    ),
});
