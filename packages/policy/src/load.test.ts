import { describe, expect, it } from 'vitest';
import {
  DeclarationError,
  decodeDeclaration,
  firstInvalidUtf8,
  formatPath,
  loadDeclaration,
  parsePath,
  validateDeclaration,
} from './load.js';
import { NEC_TYPES } from './nec.js';
import { isTaxonomyId, TAXONOMY } from './taxonomy.js';
import { didYouMean, editDistance } from './util/suggest.js';

const BASE = `pipa: 1
app:
  id: demo
  name: { zh: 演示, en: Demo }
  products:
    - name: 演示
      platforms: [android, ios]
  type: performance-ticketing
controller:
  legalName: 演示有限公司
versions:
  - version: "1.0"
    published: 2024-01-01
    effective: 2024-01-02
categories:
  - id: contact.phone
  - id: custom.membership-level
    label: { zh: 会员等级, en: Membership level }
    sensitive: false
purposes:
  - id: login
    name: 登录
    basis: contract
    categories: [contact.phone]
`;

function errorOf(fn: () => unknown): DeclarationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DeclarationError) return err;
    throw err;
  }
  throw new Error('expected a DeclarationError');
}

describe('loadDeclaration', () => {
  it('loads a valid declaration and normalises YAML dates to strings', () => {
    const { declaration } = loadDeclaration(BASE, 'demo.yaml');
    expect(declaration.app.id).toBe('demo');
    expect(declaration.versions[0]?.published).toBe('2024-01-01');
    expect(declaration.app.publicAffairs).toBe(false);
  });

  it('maps JSON paths to line and column, falling back to the nearest ancestor', () => {
    const loaded = loadDeclaration(BASE, 'demo.yaml');
    expect(loaded.positions.positionOf('$.purposes[0].basis')).toEqual({ line: 23, column: 12 });
    expect(loaded.positions.keyPositionOf('$.purposes[0].basis')).toEqual({ line: 23, column: 5 });
    // absent field: the purpose item itself
    expect(loaded.positions.positionOf('$.purposes[0].retention')).toEqual({ line: 21, column: 5 });
    expect(loaded.positions.positionOf('$.nothing.here')).toEqual({ line: 1, column: 1 });
  });

  it('reports malformed YAML with line and column', () => {
    const err = errorOf(() => loadDeclaration('pipa: 1\napp: [\n', 'bad.yaml'));
    expect(err.message).toMatch(/^bad\.yaml:\d+:\d+: YAML: /);
  });

  it('reports duplicate YAML keys', () => {
    const err = errorOf(() => loadDeclaration(`${BASE}pipa: 1\n`, 'dup.yaml'));
    expect(err.issues[0]?.message).toMatch(/unique|duplicate/i);
  });

  it('refuses a "billion laughs" alias bomb quickly, at the alias that went over the limit', () => {
    const lines = ['pipa: 1', 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++) {
      const uses = Array(10)
        .fill(`*a${i - 1}`)
        .join(', ');
      lines.push(`a${i}: &a${i} [${uses}]`);
    }
    const started = performance.now();
    const err = errorOf(() => loadDeclaration(lines.join('\n'), 'laughs.yaml'));
    expect(performance.now() - started).toBeLessThan(500);
    expect(err.issues).toHaveLength(1);
    const issue = err.issues[0];
    expect(issue?.message).toMatch(/^YAML: too many alias expansions at \*a\d /);
    // the position is that of an alias to the anchor the message names
    const name = /\*(a\d)/.exec(issue?.message ?? '')?.[1] ?? '';
    const line = lines[(issue?.line ?? 0) - 1] ?? '';
    expect(line.slice((issue?.column ?? 0) - 1)).toMatch(new RegExp(`^\\*${name}\\b`));
    expect(err.message).toMatch(/^laughs\.yaml:\d+:\d+: YAML: too many alias expansions/);
  });

  it('reports an alias before its anchor at the alias', () => {
    const err = errorOf(() => loadDeclaration(BASE.replace('categories: [contact.phone]', 'categories: *cats'), 'x.yaml'));
    expect(err.issues).toEqual([
      { path: '$', line: 24, column: 17, message: expect.stringMatching(/^YAML: alias \*cats comes before any anchor &cats/) },
    ]);
  });

  it('loads a declaration that uses a few aliases', () => {
    const yaml = BASE.replace('  - id: contact.phone\n', '  - id: &phone contact.phone\n').replace(
      '    categories: [contact.phone]\n',
      `    categories: &login-categories [*phone]
    retention: &keep
      - trigger: account-cancellation
  - id: support
    name: &name { zh: 客服, en: Support }
    basis: contract
    categories: *login-categories
    retention: *keep
  - id: notify
    name: *name
    basis: contract
    categories: [*phone]
    retention: *keep
`,
    );
    const { declaration } = loadDeclaration(yaml, 'aliases.yaml');
    expect(declaration.purposes.map((p) => p.id)).toEqual(['login', 'support', 'notify']);
    expect(declaration.purposes.map((p) => p.categories)).toEqual([['contact.phone'], ['contact.phone'], ['contact.phone']]);
    expect(declaration.purposes[2]?.retention).toEqual(declaration.purposes[0]?.retention);
  });

  it('reports a wrong type at the value position', () => {
    const err = errorOf(() => loadDeclaration(BASE.replace('basis: contract', 'basis: 42'), 'x.yaml'));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ path: '$.purposes[0].basis', line: 23, column: 12 });
    expect(err.issues[0]?.message).toContain('"consent"');
  });

  it('reports an unknown field at the key position', () => {
    const err = errorOf(() => loadDeclaration(BASE.replace('    basis: contract', '    basis: contract\n    colour: red'), 'x.yaml'));
    expect(err.issues[0]).toMatchObject({ path: '$.purposes[0].colour', line: 24, column: 5, message: 'unknown field "colour"' });
  });

  it('reports a missing required field', () => {
    const err = errorOf(() => loadDeclaration(BASE.replace('    name: 登录\n', ''), 'x.yaml'));
    expect(err.issues[0]?.path).toBe('$.purposes[0].name');
    expect(err.issues[0]?.message).toMatch(/required/);
  });

  it('reports a present value of the wrong type as a wrong type, not as missing', () => {
    const consent = '\nconsent:\n  impliedByUse: false\n  reaskAfterHours: 48\n';
    const ok = BASE + consent;
    expect(() => loadDeclaration(ok)).not.toThrow();
    const cases: [string, string, string, string][] = [
      ['reaskAfterHours: 48', 'reaskAfterHours: "abc"', '$.consent.reaskAfterHours', 'must be a number (got a string)'],
      ['reaskAfterHours: 48', 'reaskAfterHours: [1]', '$.consent.reaskAfterHours', 'must be a number (got a list)'],
      ['reaskAfterHours: 48', 'reaskAfterHours: ~', '$.consent.reaskAfterHours', 'must be a number (got null)'],
      ['reaskAfterHours: 48', 'reaskAfterHours: 1.5', '$.consent.reaskAfterHours', 'must be a whole number'],
      ['reaskAfterHours: 48', 'reaskAfterHours: -5', '$.consent.reaskAfterHours', 'must be at least 0'],
      ['impliedByUse: false', 'impliedByUse: "false"', '$.consent.impliedByUse', 'must be true or false (got a string)'],
      ['impliedByUse: false', 'impliedByUse: { a: 1 }', '$.consent.impliedByUse', 'must be true or false (got a mapping)'],
    ];
    for (const [from, to, path, message] of cases) {
      const text = ok.replace(from, to);
      const lines = text.split('\n');
      const line = lines.findIndex((l) => l.includes(to)) + 1;
      const column = (lines[line - 1] ?? '').indexOf(': ') + 3;
      const err = errorOf(() => loadDeclaration(text, 'wrongtype.yaml'));
      expect(err.issues, to).toEqual([{ path, line, column, message }]);
      expect(err.message).not.toContain('missing');
    }
  });

  it('words ranges, lengths, formats and unions in its own style', () => {
    const msg = (from: string, to: string) =>
      errorOf(() => loadDeclaration(BASE.replace(from, to))).issues.map((i) => `${i.path}: ${i.message}`);
    expect(msg('categories: [contact.phone]', 'categories: []')).toEqual(['$.purposes[0].categories: must not be empty']);
    expect(msg('legalName: 演示有限公司', 'legalName: ""')).toEqual(['$.controller.legalName: must not be empty']);
    expect(msg('legalName: 演示有限公司', 'legalName: 12')).toEqual([
      '$.controller.legalName: must be a text: a string or { zh, en } (got a number)',
    ]);
    // a union is reported through the branch that takes the value's type, at the nested path
    expect(msg('legalName: 演示有限公司', 'legalName: { zh: 1 }')).toEqual(['$.controller.legalName.zh: must be a string (got a number)']);
    expect(msg('legalName: 演示有限公司', 'legalName: 演示有限公司\n  email: [not-an-email]')).toEqual([
      '$.controller.email[0]: must be an email address',
    ]);
    expect(msg('pipa: 1', 'pipa: 2')).toEqual(['$.pipa: must be 1']);
    // a schema's own message is kept
    expect(msg('id: login', 'id: Login')).toEqual(['$.purposes[0].id: must be a lower-case id such as "contact.phone" or "push-service"']);
    // zod's default wording never reaches the user
    for (const m of [
      ...msg('categories: [contact.phone]', 'categories: []'),
      ...msg('legalName: 演示有限公司', 'legalName: 12'),
      ...msg('pipa: 1', 'pipa: 2'),
    ]) {
      expect(m).not.toMatch(/Invalid input|Too small|Too big|expected .*, received/);
    }
  });

  it('rejects a wrong schema version', () => {
    const err = errorOf(() => loadDeclaration(BASE.replace('pipa: 1', 'pipa: 2'), 'x.yaml'));
    expect(err.issues[0]?.path).toBe('$.pipa');
  });

  it('rejects a document that is not a mapping', () => {
    expect(errorOf(() => loadDeclaration('- 1\n- 2\n')).issues[0]?.message).toMatch(/mapping/);
    expect(errorOf(() => loadDeclaration('')).issues[0]?.message).toMatch(/mapping/);
  });

  it('suggests the closest taxonomy id for an unknown category', () => {
    const err = errorOf(() => loadDeclaration(BASE.replace('  - id: contact.phone', '  - id: contact.phon'), 'x.yaml'));
    expect(err.issues[0]?.message).toContain('did you mean "contact.phone"');
    expect(err.issues[0]).toMatchObject({ path: '$.categories[0].id', line: 16, column: 9 });
  });

  it('reports a reference to an undeclared category, naming the taxonomy', () => {
    const err = errorOf(() =>
      loadDeclaration(BASE.replace('categories: [contact.phone]', 'categories: [contact.phone, device.id.imei]'), 'x.yaml'),
    );
    expect(err.issues[0]).toMatchObject({ path: '$.purposes[0].categories[1]' });
    expect(err.issues[0]?.message).toContain('add it to categories first');
  });

  it('reports duplicate ids with the first declaration', () => {
    const dup = `${BASE}  - id: login\n    name: again\n    categories: [contact.phone]\n`;
    const err = errorOf(() => loadDeclaration(dup, 'x.yaml'));
    expect(err.issues[0]).toMatchObject({ path: '$.purposes[1].id', line: 25, column: 9 });
    expect(err.issues[0]?.message).toContain('first declared at $.purposes[0]');
  });

  it('reports an unknown purpose reference with a suggestion', () => {
    const yaml = `${BASE}permissions:\n  - id: phone-state\n    name: 电话状态\n    purposes: [logn]\n`;
    const err = errorOf(() => loadDeclaration(yaml, 'x.yaml'));
    expect(err.issues[0]).toMatchObject({ path: '$.permissions[0].purposes[0]' });
    expect(err.issues[0]?.message).toContain('did you mean "login"');
  });

  it('requires a label and a sensitive flag on custom categories', () => {
    const yaml = BASE.replace('    label: { zh: 会员等级, en: Membership level }\n    sensitive: false\n', '');
    const err = errorOf(() => loadDeclaration(yaml, 'x.yaml'));
    expect(err.issues.map((i) => i.message).join('\n')).toMatch(/needs a label[\s\S]*sensitive/);
  });

  it('checks the app type against the 39 NEC types', () => {
    const err = errorOf(() => loadDeclaration(BASE.replace('performance-ticketing', 'perfomance-ticketing'), 'x.yaml'));
    expect(err.issues[0]?.message).toContain('did you mean "performance-ticketing"');
    expect(() => loadDeclaration(BASE.replace('performance-ticketing', 'none'))).not.toThrow();
  });

  it('requires a connection env var for external datasets and checks column references', () => {
    const yaml = `${BASE}datasets:
  - id: shop
    engine: postgres
    tables:
      - name: users
        subject: { column: phone }
        fields: { phone: contact.phone }
        erasure: { default: delete-row, columns: { phnoe: mask } }
`;
    const err = errorOf(() => loadDeclaration(yaml, 'x.yaml'));
    const messages = err.issues.map((i) => i.message).join('\n');
    expect(messages).toContain('needs connectionEnv');
    expect(messages).toContain('did you mean "phone"');
  });

  it('validates plain objects the same way (HTTP bodies)', () => {
    const { declaration } = loadDeclaration(BASE);
    expect(validateDeclaration(JSON.parse(JSON.stringify(declaration)))).toEqual(declaration);
    expect(() => validateDeclaration({ ...declaration, pipa: 3 })).toThrow(DeclarationError);
  });
});

/** `演示` in GBK (D1DD CABE) where the UTF-8 text has it: how a file saved as GBK reads. */
function asGbk(text: string): Uint8Array {
  const parts = text.split('演示');
  const out: number[] = [];
  parts.forEach((part, i) => {
    if (i > 0) out.push(0xd1, 0xdd, 0xca, 0xbe);
    out.push(...new TextEncoder().encode(part));
  });
  return Uint8Array.from(out);
}

describe('decodeDeclaration', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('decodes UTF-8, skipping a byte-order mark', () => {
    expect(decodeDeclaration(bytes(BASE))).toBe(BASE);
    const withBom = Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes(BASE)]);
    expect(decodeDeclaration(withBom)).toBe(BASE);
    expect(loadDeclaration(decodeDeclaration(withBom)).declaration.app.id).toBe('demo');
  });

  it('refuses GBK at the line, column and byte offset of the first byte that is not UTF-8', () => {
    const err = errorOf(() => decodeDeclaration(asGbk(BASE), 'gbk.yaml'));
    // line 4 is `  name: { zh: 演示, en: Demo }`
    const offset = bytes(BASE.slice(0, BASE.indexOf('演示'))).length;
    expect(err.issues).toEqual([
      {
        path: '$',
        line: 4,
        column: 15,
        message: `not UTF-8: byte 0xD1 at byte offset ${offset} is not valid UTF-8; save the file as UTF-8`,
      },
    ]);
    expect(err.message).toMatch(/^gbk\.yaml:4:15: not UTF-8: /);
  });

  it('counts columns in characters after multi-byte UTF-8 on the same line', () => {
    const b = Uint8Array.from([...bytes('pipa: 1\n# 说明 '), 0xff, 0x0a]);
    expect(errorOf(() => decodeDeclaration(b)).issues[0]).toMatchObject({ line: 2, column: 6 });
  });

  it('names UTF-16, with or without a byte-order mark', () => {
    const le = (s: string) => Uint8Array.from([...s].flatMap((c) => [c.charCodeAt(0) & 0xff, c.charCodeAt(0) >> 8]));
    const withBom = Uint8Array.from([0xff, 0xfe, ...le('pipa: 1\n')]);
    expect(errorOf(() => decodeDeclaration(withBom, 'u16.yaml')).message).toBe(
      'u16.yaml:1:1: not UTF-8: it looks like UTF-16LE (it starts with the byte-order mark FF FE); save it as UTF-8 (at $)',
    );
    const be = Uint8Array.from([0xfe, 0xff, 0, 0x70]);
    expect(errorOf(() => decodeDeclaration(be)).issues[0]?.message).toContain('UTF-16BE');
    // ASCII in UTF-16 is valid UTF-8 byte by byte: its zero bytes give it away
    expect(errorOf(() => decodeDeclaration(le('pipa: 1\napp: x\n'))).issues[0]).toMatchObject({
      line: 1,
      column: 2,
      message: 'not UTF-8: it looks like UTF-16 (a zero byte at byte offset 1); save it as UTF-8',
    });
  });

  it('finds the first ill-formed sequence: overlong, surrogate, out of range, truncated', () => {
    const at = (...b: number[]) => firstInvalidUtf8(Uint8Array.from(b));
    expect(at(0x61, 0xc3, 0xa9, 0xe6, 0xbc, 0x94)).toBe(6);
    expect(at(0x61, 0xc0, 0xaf)).toBe(1);
    expect(at(0x61, 0xe0, 0x80, 0xaf)).toBe(1);
    expect(at(0xed, 0xa0, 0x80)).toBe(0);
    expect(at(0x61, 0x62, 0xf4, 0x90, 0x80, 0x80)).toBe(2);
    expect(at(0x61, 0xe6, 0xbc)).toBe(1);
    expect(at(0xf0, 0x9f, 0x98, 0x80, 0x80)).toBe(4);
  });
});

describe('paths', () => {
  it('round-trips formatted paths', () => {
    for (const segs of [[], ['a'], ['purposes', 0, 'categories', 2], ['fields', 'weird key']]) {
      expect(parsePath(formatPath(segs))).toEqual(segs);
    }
    expect(formatPath(['recipients', 1, 'consent'])).toBe('$.recipients[1].consent');
  });
});

describe('taxonomy and NEC types', () => {
  it('has unique ids, labels in both languages, and the ids the issue names', () => {
    const ids = TAXONOMY.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [
      'contact.phone',
      'identity.id-card',
      'device.id.imei',
      'device.id.mac',
      'device.installed-apps',
      'location.precise',
      'browser.fingerprint',
    ]) {
      expect(isTaxonomyId(id)).toBe(true);
    }
    for (const t of TAXONOMY) expect(t.zh.length > 0 && t.en.length > 0).toBe(true);
  });

  it('marks Annex B categories sensitive and hardware identifiers immutable', () => {
    const byId = new Map(TAXONOMY.map((t) => [t.id, t]));
    expect(byId.get('identity.id-card')?.sensitive).toBe(true);
    expect(byId.get('biometric.face')?.sensitive).toBe(true);
    expect(byId.get('location.precise')?.sensitive).toBe(true);
    expect(byId.get('device.model')?.sensitive).toBe(false);
    expect(byId.get('device.id.mac')?.immutableDeviceId).toBe(true);
    expect(byId.get('device.id.oaid')?.immutableDeviceId).toBeUndefined();
  });

  it('lists the 39 NEC types, each necessary category in the taxonomy', () => {
    expect(NEC_TYPES).toHaveLength(39);
    expect(new Set(NEC_TYPES.map((t) => t.id)).size).toBe(39);
    for (const t of NEC_TYPES) for (const id of t.necessary) expect(isTaxonomyId(id), `${t.id}: ${id}`).toBe(true);
    expect(NEC_TYPES.find((t) => t.id === 'performance-ticketing')?.necessary).toEqual([
      'contact.phone',
      'order.session-seat',
      'finance.payment',
    ]);
  });
});

describe('suggestions', () => {
  it('computes edit distance with transpositions', () => {
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('abc', 'acb')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests only close matches, or a suffix match', () => {
    expect(didYouMean('contcat.phone', ['contact.phone', 'contact.email'])).toBe('contact.phone');
    expect(didYouMean('zzzzzz', ['contact.phone'])).toBeUndefined();
    expect(didYouMean('phone', ['contact.phone'])).toBe('contact.phone');
  });
});
