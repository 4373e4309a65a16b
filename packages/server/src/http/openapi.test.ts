import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApi } from './openapi.js';
import { type AnyRoute, defineRoute } from './route.js';
import { resolvePointer, unresolvedRefs } from './test-openapi.js';

const INFO = { title: 't', version: '0', description: 'd' };

// A schema with an id used by two routes, and schemas that refer to themselves (zod puts these in the
// generated schema's own $defs, or refers to the root as '#').
const Money = z.object({ amount: z.number(), currency: z.string() }).meta({ id: 'Money' });
interface Node {
  name: string;
  children: Node[];
}
const NodeSchema: z.ZodType<Node> = z.object({
  name: z.string(),
  get children() {
    return z.array(NodeSchema);
  },
});
const Tree = z.object({ root: NodeSchema, price: Money });

const route = (operationId: string, url: string, body: z.ZodType, response: z.ZodType): AnyRoute =>
  defineRoute({
    method: 'POST',
    url,
    operationId,
    summary: operationId,
    tags: ['t'],
    auth: 'none',
    body,
    response,
    handler: async () => ({}),
  });

describe('OpenAPI document', () => {
  const doc = buildOpenApi(
    [
      route('a', '/a', Tree, Money),
      route('b', '/b/:id', z.object({ price: Money }), NodeSchema),
      route('c', '/c', z.object({ ok: z.boolean() }), z.object({ ok: z.boolean() })),
    ],
    INFO,
  ) as { components: { schemas: Record<string, unknown> }; paths: Record<string, Record<string, unknown>> };

  it('has every $ref resolvable in the document (the Error schema, ids, self-references)', () => {
    expect(unresolvedRefs(doc)).toEqual([]);
    expect(JSON.stringify(doc)).not.toContain('$defs');
    // The tree's node (a cycle inside a body) and a response that refers to itself are components too.
    expect(Object.keys(doc.components.schemas)).toEqual(['Error', 'Money', 'a_body_schema0', 'Money_2', 'b_response']);
    expect(JSON.stringify(doc.components.schemas.b_response)).toContain('"$ref":"#/components/schemas/b_response"');
  });

  it('has the Error schema itself in components, and every default response refers to it', () => {
    const error = doc.components.schemas.Error as { type: string; properties: Record<string, unknown>; $ref?: string };
    expect(error.$ref).toBeUndefined();
    expect(error.type).toBe('object');
    expect(Object.keys(error.properties)).toEqual(['error']);
    for (const methods of Object.values(doc.paths)) {
      for (const op of Object.values(methods) as { responses: { default: { content: Record<string, { schema: unknown }> } } }[]) {
        expect(op.responses.default.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
  });

  it('puts a schema with an id in components under its id, once per form (a request body, a response)', () => {
    type Op = {
      requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
      responses: Record<string, { content: Record<string, { schema: unknown }> }>;
    };
    const a = doc.paths['/a']?.post as Op;
    const b = doc.paths['/b/{id}']?.post as Op;
    // The output form (a response: no additional properties) met first, then the input form (both bodies).
    expect(a.responses['200']?.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Money' });
    expect(doc.components.schemas.Money).toMatchObject({ type: 'object', required: ['amount', 'currency'], additionalProperties: false });
    expect(a.requestBody.content['application/json']?.schema.properties.price).toEqual({ $ref: '#/components/schemas/Money_2' });
    expect(b.requestBody.content['application/json']?.schema.properties.price).toEqual({ $ref: '#/components/schemas/Money_2' });
    expect(doc.components.schemas.Money_2).not.toHaveProperty('additionalProperties');
    expect(Object.keys(doc.components.schemas).filter((k) => k.startsWith('Money'))).toEqual(['Money', 'Money_2']);
  });

  it('resolves JSON pointers the way the test expects', () => {
    expect(resolvePointer({ a: { 'b/c': [1, 2] } }, '#/a/b~1c/1')).toBe(2);
    expect(resolvePointer({ a: 1 }, '#/$defs/Error')).toBeUndefined();
    expect(unresolvedRefs({ x: { $ref: '#/$defs/Error' }, $defs: undefined })).toEqual([{ at: '#/x/$ref', ref: '#/$defs/Error' }]);
    expect(unresolvedRefs({ x: { $ref: 'https://example.com/s.json' } })).toHaveLength(1);
  });
});
