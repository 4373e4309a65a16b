import sjson from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { PipaError } from '../errors.js';
import { findForbiddenKey, lineColumn, locateJsonError, parseJsonBody } from './json-body.js';

const VALID = [
  '{}',
  '[]',
  ' \n\t{ "a" : [ 1 , -2.5e+3 , 0 , true , false , null , "x\\"y\\\\\\/\\b\\f\\n\\r\\t\\u00e9" ] }\r\n',
  '"just a string"',
  '0',
  '-0.0E-1',
  '{"nested":{"deeper":[[[{"k":"张三"}]]]}}',
  '[{"a":1},{"b":[2,3]},[]]',
];

const INVALID: [string, string, number][] = [
  ['', 'expected a value, found the end of the body', 0],
  ['{', 'expected a double-quoted property name, found the end of the body', 1],
  ['{"a" 1}', "expected ':' after a property name", 5],
  ['{"a":1 "b":2}', "expected ',' or '}' after a property value", 7],
  ['[1 2]', "expected ',' or ']' after an array element", 3],
  ['[1,]', "expected a value after ',' before ']' (a trailing comma?)", 3],
  ['{"x": }', "expected a value after ':'", 6],
  ['[1, }', "expected a value after ','", 4],
  ['[}', 'expected a value', 1],
  ['{"a":1,}', "expected a property name after ',' (a trailing comma?)", 7],
  ["{'a':1}", 'expected a double-quoted property name (strings take double quotes)', 1],
  ['{"a":\'x\'}', 'expected a value (strings take double quotes)', 5],
  ['{"a":"x', 'a string is not closed', 5],
  ['"a\nb"', 'a control character (a line break or tab) inside a string: escape it', 2],
  ['"\\x"', 'a backslash must start an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)', 1],
  ['"\\u12g4"', '\\u must be followed by 4 hexadecimal digits', 1],
  ['01', 'unexpected text after the JSON value', 1],
  ['1.', 'unexpected text after the JSON value', 1],
  ['tru', 'expected a value', 0],
  ['{} {}', 'unexpected text after the JSON value', 3],
  ['[', 'expected a value, found the end of the body', 1],
];

describe('locateJsonError', () => {
  it('finds nothing wrong in JSON', () => {
    for (const text of VALID) {
      expect(() => JSON.parse(text), text).not.toThrow();
      expect(locateJsonError(text), text).toBeUndefined();
    }
  });

  it('names the place and the problem of what is not JSON', () => {
    for (const [text, problem, offset] of INVALID) {
      expect(() => JSON.parse(text), text).toThrow(SyntaxError);
      expect(locateJsonError(text), text).toEqual({ offset, problem });
    }
  });

  it('agrees with JSON.parse on every text cut or altered from valid JSON', () => {
    const seeds = VALID.filter((v) => v.length > 2);
    const replacements = ['', ',', '}', ']', '"', ':', ' ', 'x', '\\', '1', '{', '['];
    let checked = 0;
    for (const seed of seeds) {
      for (let at = 0; at <= seed.length; at++) {
        const variants = [seed.slice(0, at), ...replacements.map((r) => seed.slice(0, at) + r + seed.slice(at + 1))];
        for (const text of variants) {
          let ok = true;
          try {
            JSON.parse(text);
          } catch {
            ok = false;
          }
          expect(locateJsonError(text) === undefined, JSON.stringify(text)).toBe(ok);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('skips a byte order mark first, as the parser does', () => {
    expect(locateJsonError('\ufeff{"a": 1}')).toBeUndefined();
    expect(locateJsonError('\ufeff{"a" 1}')).toEqual({ offset: 6, problem: "expected ':' after a property name" });
    expect(parseJsonBody('\ufeff{"a": 1}')).toEqual({ a: 1 });
  });

  it('does not overflow the stack on deep nesting', () => {
    expect(locateJsonError('['.repeat(200_000))).toEqual({ offset: 200_000, problem: 'expected a value, found the end of the body' });
    expect(locateJsonError(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)).toBeUndefined();
  });
});

describe('lineColumn', () => {
  it('counts lines and columns from 1', () => {
    expect(lineColumn('abc', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('a\nbc\nd', 4)).toEqual({ line: 2, column: 3 });
    expect(lineColumn('a\nbc\nd', 5)).toEqual({ line: 3, column: 1 });
  });
});

describe('parseJsonBody', () => {
  const refused = (text: string): PipaError => {
    try {
      parseJsonBody(text);
    } catch (err) {
      expect(err).toBeInstanceOf(PipaError);
      expect((err as PipaError).code).toBe('invalid_json');
      return err as PipaError;
    }
    throw new Error(`accepted: ${text}`);
  };

  it('parses JSON', () => {
    expect(parseJsonBody('{"kind":"account","n":[1,2]}')).toEqual({ kind: 'account', n: [1, 2] });
  });

  it('says where a body stops being JSON, and never repeats the body', () => {
    const e = refused('{\n  "phone": "13812345678"\n  "name": "王小明"\n}');
    expect(e.message).toBe("the body is not valid JSON: line 3, column 3: expected ',' or '}' after a property value");
    expect(e.details).toEqual([{ path: '$.body', message: "expected ',' or '}' after a property value", line: 3, column: 3 }]);
    // V8's own message for this one quotes the body.
    const cut = refused('{"phone": 13812345678 }x');
    expect(JSON.stringify({ m: cut.message, d: cut.details })).not.toContain('138');
    expect(refused('').message).toBe('the body is empty but content-type is application/json');
  });

  it('refuses a __proto__ key, or a constructor key holding prototype, anywhere, naming its place and path', () => {
    const proto = refused('{"kind":"account",\n "meta": {"__proto__": {"admin": true}}}');
    expect(proto.message).toBe(
      'the body is not accepted: $.body.meta.__proto__ (line 2, column 11): a "__proto__" key is refused: merged into another object it could change the prototype of objects the service builds',
    );
    expect(proto.details?.[0]).toMatchObject({ path: '$.body.meta.__proto__', line: 2, column: 11 });
    const escaped = refused('{"\\u005f_proto__": {}}');
    expect(escaped.details?.[0]).toMatchObject({ path: '$.body.__proto__', line: 1, column: 2 });
    const ctor = refused('[{"constructor": {"prototype": {"x": 1}}}]');
    expect(ctor.message).toContain('$.body[0].constructor (line 1, column 3): a "constructor" key holding "prototype" is refused');
    // A constructor key that holds something else is data like any other, and is not the one named.
    expect(parseJsonBody('{"constructor": "Ford"}')).toEqual({ constructor: 'Ford' });
    const later = refused('{"constructor": {"name": "x"}, "items": [1, {"constructor": {"a": [], "prototype": null}}]}');
    expect(later.details?.[0]).toMatchObject({ path: '$.body.items[1].constructor', line: 1, column: 46 });
  });
});

describe('findForbiddenKey', () => {
  it('agrees with secure-json-parse on where a forbidden key is and whether there is one', () => {
    const bodies = [
      '{}',
      '{"a": {"b": [1, 2, {"__proto__": 1}]}}',
      '{"a": "__proto__", "b": ["__proto__"]}',
      '{"x": {"constructor": {"prototype": 1}}}',
      '{"constructor": []}',
      '{"constructor": {"prototype": 1}}',
      '{"a\\"b": 1, "c": {"constructor": {"x": {"prototype": 1}}}}',
      '[[[{"k": "v"}], {"__pro\\u0074o__": null}]]',
      '{"prototype": {"constructor": 1}}',
    ];
    for (const text of bodies) {
      JSON.parse(text);
      let refusedBySjp = false;
      try {
        sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
      } catch {
        refusedBySjp = true;
      }
      expect(findForbiddenKey(text) !== undefined, text).toBe(refusedBySjp);
    }
    expect(findForbiddenKey('{"a": {"b": [1, 2, {"__proto__": 1}]}}')).toEqual({
      key: '__proto__',
      offset: 20,
      path: '$.body.a.b[2].__proto__',
    });
    expect(findForbiddenKey('[[[{"k": "v"}], {"__pro\\u0074o__": null}]]')?.path).toBe('$.body[0][1].__proto__');
  });
});
