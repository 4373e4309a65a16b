/**
 * HTTP routes of decisions (scope `decide`): one decision, or a batch of up to 1000 for one app.
 * The answer is the engine's decision (consent/decide.ts): `allow`, `reason { code, zh, en }`, `clause`
 * (JSON paths into the declaration), `needs?`, `category?`. An undeclared purpose, category or recipient
 * is a `deny` with its reason (200), not an error; an unknown app is 404; a subject the service does not
 * know is answered as one with no consent (deciding reads no database).
 */
import { z } from 'zod';
import { actorOf, assertAppAccess } from '../auth/access.js';
import { DECISION_NEEDS, REASON_CODES } from '../consent/types.js';
import { type AnyRoute, defineRoute } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import { SUBJECT_ID } from '../subjects/routes.js';
import { type DecisionsService, MAX_DECISION_BATCH } from './service.js';

const ID = z.string().min(1).max(200);

const Request = z.strictObject({
  subject: SUBJECT_ID,
  purpose: ID,
  categories: z.array(ID).max(200).meta({ description: 'Categories of personal information to process (taxonomy ids); may be empty' }),
  recipient: ID.optional().meta({ description: 'Provide the data to this recipient' }),
});

export const DecisionSchema = z.object({
  allow: z.boolean(),
  reason: z.object({ code: z.enum(REASON_CODES), zh: z.string(), en: z.string() }),
  clause: z.array(z.string()).readonly().meta({ description: 'JSON paths into the declaration the decision rests on' }),
  needs: z.enum(DECISION_NEEDS).optional().meta({ description: 'On a deny the app can cure by asking the person: what to ask for' }),
  category: z.string().optional(),
});

const AppParams = z.object({ app: APP_ID });

export function decisionRoutes(_ctx: ServiceContext, services: { decisions: DecisionsService }): AnyRoute[] {
  const { decisions } = services;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/decisions',
      operationId: 'decide',
      summary: 'May this subject’s data be processed for this purpose (and provided to this recipient)?',
      tags: ['decisions'],
      auth: 'api-key',
      scopes: ['decide'],
      params: AppParams,
      body: Request,
      response: DecisionSchema,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return decisions.decide(params.app, body, { actor: actorOf(principal), requestId });
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/decisions/batch',
      operationId: 'decideBatch',
      summary: `Up to ${MAX_DECISION_BATCH} decisions at once, answered in order`,
      tags: ['decisions'],
      auth: 'api-key',
      scopes: ['decide'],
      params: AppParams,
      body: z.strictObject({ requests: z.array(Request).min(1).max(MAX_DECISION_BATCH) }),
      response: z.object({ decisions: z.array(DecisionSchema) }),
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return { decisions: await decisions.decideBatch(params.app, body.requests, { actor: actorOf(principal), requestId }) };
      },
    }),
  ];
}
