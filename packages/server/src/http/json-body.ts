/**
 * The JSON body parser of every route, in place of Fastify's own, so that a body that cannot be used
 * gets an error that says where and why, and never repeats the body:
 *
 * - not JSON: `the body is not valid JSON: line 3, column 12: expected ',' or '}' after a property
 *   value`. The place comes from a small scanner of our own that runs only on a body JSON.parse
 *   refused: V8's message sometimes has no position, and sometimes quotes the body (which may be
 *   personal information, and is logged).
 * - a `__proto__` key, or a `constructor` key holding `prototype`, anywhere in the body (checked by
 *   secure-json-parse, as Fastify does): refused, naming the key by its JSON path, line and column,
 *   because a merge of such an object into another could change the prototype of objects the
 *   service builds.
 * - a leading byte order mark is ignored (secure-json-parse drops it; the scanner skips it too).
 * - an empty body sent as JSON: refused as before.
 *
 * The happy path is what Fastify's parser does (secure-json-parse over the body as a string).
 */
import sjson from 'secure-json-parse';
import { PipaError, pathStep } from '../errors.js';

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class JsonProblem extends Error {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {
    super(problem);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Where a text stops being JSON (RFC 8259) and why, or undefined when it is JSON. Iterative (a body
 * of 200,000 opening brackets does not overflow the stack).
 */
export function locateJsonError(text: string): { offset: number; problem: string } | undefined {
  const n = text.length;
  // A byte order mark first is not part of the JSON (secure-json-parse drops it too).
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: ('{' | '[')[] = [];
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else return;
    }
  };
  const fail = (problem: string, at = i): never => {
    throw new JsonProblem(at, i >= n && at >= n ? `${problem}, found the end of the body` : problem);
  };
  const string = () => {
    const start = i;
    i++; // the opening quote
    for (;;) {
      if (i >= n) fail('a string is not closed', start);
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 0x20) fail('a control character (a line break or tab) inside a string: escape it');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!HEX4.test(text.slice(i + 2, i + 6))) fail('\\u must be followed by 4 hexadecimal digits');
          i += 6;
        } else if (e !== undefined && ESCAPES.has(e)) i += 2;
        else fail('a backslash must start an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
      } else i++;
    }
  };
  const scalar = () => {
    const c = text[i];
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) fail('a number is malformed');
      i += (m as RegExpExecArray)[0].length;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail(
      c === "'"
        ? 'expected a value (strings take double quotes)'
        : mark === ','
          ? `expected a value after ','${c === ']' ? " before ']' (a trailing comma?)" : ''}`
          : mark === ':'
            ? "expected a value after ':'"
            : 'expected a value',
    );
  };
  type State = 'value' | 'key' | 'after';
  let state: State = 'value';
  // What the value expected now follows: a comma in an array, the colon of a property, else nothing.
  let mark: ',' | ':' | '' = '';
  try {
    for (;;) {
      ws();
      if (state === 'value') {
        const c = text[i];
        if (c === '{' || c === '[') {
          i++;
          ws();
          if (text[i] === (c === '{' ? '}' : ']')) {
            i++;
            state = 'after';
          } else {
            stack.push(c);
            // An object goes on with a key; an array with its first value, which follows nothing.
            if (c === '{') state = 'key';
            else mark = '';
          }
        } else {
          if (i >= n) fail('expected a value');
          scalar();
          state = 'after';
        }
      } else if (state === 'key') {
        if (text[i] !== '"') {
          fail(
            text[i] === '}'
              ? "expected a property name after ',' (a trailing comma?)"
              : text[i] === "'"
                ? 'expected a double-quoted property name (strings take double quotes)'
                : 'expected a double-quoted property name',
          );
        }
        string();
        ws();
        if (text[i] !== ':') fail("expected ':' after a property name");
        i++;
        state = 'value';
        mark = ':';
      } else {
        const top = stack.at(-1);
        if (top === undefined) {
          if (i < n) fail('unexpected text after the JSON value');
          return undefined;
        }
        const c = text[i];
        if (c === ',') {
          i++;
          state = top === '{' ? 'key' : 'value';
          mark = ',';
        } else if ((top === '{' && c === '}') || (top === '[' && c === ']')) {
          i++;
          stack.pop();
        } else fail(top === '{' ? "expected ',' or '}' after a property value" : "expected ',' or ']' after an array element");
      }
    }
  } catch (err) {
    if (err instanceof JsonProblem) return { offset: err.offset, problem: err.problem };
    throw err;
  }
}

/** A container being walked by `findForbiddenKey`. */
interface Frame {
  kind: '{' | '[';
  /** The key (object) or index (array) of the value being read in it. */
  step: string | number;
  /** When this object is the value of a `constructor` key: that key's offset and JSON path. */
  ctor?: { offset: number; path: string };
}

/**
 * The first `__proto__` key, or `constructor` key whose object value holds a `prototype` key, in a
 * text that is JSON (JSON.parse accepted it), with its offset and JSON path (`$.body.meta.__proto__`);
 * undefined when there is none. Keys are compared decoded, so `"\u005f_proto__"` is one too.
 */
export function findForbiddenKey(text: string): { key: '__proto__' | 'constructor'; offset: number; path: string } | undefined {
  const stack: Frame[] = [];
  // The path of the key being read in the innermost object: its parents' steps, then the key itself
  // (one of the two forbidden names, written as such: `shownId` would hide it).
  const pathTo = (key: string) =>
    `$.body${stack
      .slice(0, -1)
      .map((f) => pathStep(f.step))
      .join('')}.${key}`;
  let expectingKey = false;
  // The offset of a `constructor` key whose value comes next, else -1.
  let ctorKey = -1;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      i++;
      const top = stack.at(-1);
      if (top?.kind === '{' && expectingKey) {
        const key = JSON.parse(text.slice(start, i)) as string;
        top.step = key;
        expectingKey = false;
        if (key === '__proto__') return { key, offset: start, path: pathTo(key) };
        if (key === 'prototype' && top.ctor !== undefined) return { key: 'constructor', offset: top.ctor.offset, path: top.ctor.path };
        ctorKey = key === 'constructor' ? start : -1;
      } else ctorKey = -1;
      continue;
    }
    if (c === '{' || c === '[') {
      const frame: Frame = { kind: c, step: c === '[' ? 0 : '' };
      if (c === '{' && ctorKey >= 0) frame.ctor = { offset: ctorKey, path: pathTo('constructor') };
      stack.push(frame);
      expectingKey = c === '{';
      ctorKey = -1;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectingKey = false;
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top?.kind === '[') top.step = (top.step as number) + 1;
      else expectingKey = true;
    } else if (c !== ':' && c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') ctorKey = -1;
    i++;
  }
  return undefined;
}

function invalid(text: string, offset: number, problem: string): PipaError {
  const { line, column } = lineColumn(text, offset);
  return new PipaError('invalid_json', `the body is not valid JSON: line ${line}, column ${column}: ${problem}`, [
    { path: '$.body', message: problem, line, column },
  ]);
}

/** Parse a request body sent as JSON; a PipaError `invalid_json` (400) says where and why it cannot be used. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new PipaError('invalid_json', 'the body is empty but content-type is application/json');
  try {
    return sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const located = locateJsonError(text);
    if (located !== undefined) throw invalid(text, located.offset, located.problem);
    // Valid JSON refused by secure-json-parse: a forbidden key.
    const forbidden = findForbiddenKey(text);
    if (forbidden !== undefined) {
      const { line, column } = lineColumn(text, forbidden.offset);
      const why =
        forbidden.key === '__proto__'
          ? 'a "__proto__" key is refused: merged into another object it could change the prototype of objects the service builds'
          : 'a "constructor" key holding "prototype" is refused: merged into another object it could change the prototype of objects the service builds';
      throw new PipaError('invalid_json', `the body is not accepted: ${forbidden.path} (line ${line}, column ${column}): ${why}`, [
        { path: forbidden.path, message: why, line, column },
      ]);
    }
    throw new PipaError('invalid_json', 'the body is not valid JSON', [{ path: '$.body', message: 'not valid JSON' }]);
  }
}
