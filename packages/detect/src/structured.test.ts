import { describe, expect, it } from 'vitest';
import { createCsvScanner, createNdjsonScanner, StructuredError, scanJson } from './structured.js';

describe('JSON', () => {
  it('reports field paths, exact and generalised, and uses keys as context', () => {
    const found = scanJson('{"users":[{"name":"李娜","mobile":"13700001111","passport":"E12345678"},{"mobile":13800001111}]}');
    expect(found.map((f) => [f.type, f.path, f.field])).toEqual([
      ['name', '$.users[0].name', '$.users[*].name'],
      ['phone', '$.users[0].mobile', '$.users[*].mobile'],
      ['passport', '$.users[0].passport', '$.users[*].passport'],
      ['phone', '$.users[1].mobile', '$.users[*].mobile'],
    ]);
  });
  it('scans keys (maps keyed by phone number)', () => {
    expect(scanJson('{"13812345678":{"n":1}}').map((f) => f.field)).toEqual(['$["13812345678"](key)']);
  });
  it('positions a syntax error', () => {
    try {
      scanJson('{\n  "a": 1,\n  "b": }');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(StructuredError);
      expect((err as StructuredError).line).toBe(3);
    }
  });
});

describe('NDJSON', () => {
  it('scans line by line across chunk boundaries and reports bad lines as problems', () => {
    const s = createNdjsonScanner();
    const text = '{"phone":"13812345678"}\nnot json 13912345678\n\n{"id":"11010519491231002X"}';
    const found = [...s.push(text.slice(0, 10)), ...s.push(text.slice(10, 40)), ...s.push(text.slice(40)), ...s.end()];
    expect(found.map((f) => [f.type, f.line])).toEqual([
      ['phone', 1],
      ['phone', 2],
      ['id-card', 4],
    ]);
    expect(s.problems.map((p) => p.line)).toEqual([2]);
  });
});

describe('CSV', () => {
  it('uses the header as context, handles quotes, CRLF and newlines in quoted cells, across chunks', () => {
    const text = '\uFEFF姓名,手机号,备注,护照\r\n张伟,13812345678,"他说""你好""\n换行",E12345678\r\n王芳,13912345678,,G12345678\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const s = createCsvScanner();
      const found = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut)), ...s.end()];
      expect(
        found.map((f) => [f.type, f.field, f.row, f.line]),
        `split at ${cut}`,
      ).toEqual([
        ['name', '姓名', 1, 2],
        ['phone', '手机号', 1, 2],
        ['passport', '护照', 1, 2],
        ['name', '姓名', 2, 4],
        ['phone', '手机号', 2, 4],
        ['passport', '护照', 2, 4],
      ]);
    }
  });
  it('reports an unterminated quote', () => {
    const s = createCsvScanner({ header: false });
    s.push('a,"b\n');
    s.end();
    expect(s.problems[0]?.message).toMatch(/unterminated/);
  });
});
