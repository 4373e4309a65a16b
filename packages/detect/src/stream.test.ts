import { describe, expect, it } from 'vitest';
import { detect } from './detect.js';
import { redactText } from './operators/apply.js';
import { createRedactor, createTextScanner } from './stream.js';

const LINES = [
  '2024-01-15 12:30:45 INFO login phone=13812345678 ip=116.7.8.9',
  '收货人：张伟，电话 139 1234 5678，地址：辽宁省沈阳市和平区南京北街123号4单元501室。',
  '身份证号：11010519491231002X，卡号 6222 0212 3456 7890 128。',
  '邮箱 zhang.san@example.com，IMEI 861234567890125，订单号 202401151234567890。',
  'db=postgres://app:s3cret@db.internal:5432/x mac 00:1A:2B:3C:4D:5E',
];

function sample(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(LINES[i % LINES.length] ?? '');
  return `${out.join('\n')}\n`;
}

const key = (d: { type: string; start: number; end: number; score: number }) => `${d.type}@${d.start}-${d.end}:${d.score}`;

describe('streaming scanner', () => {
  it('finds every match exactly once whatever the split position', () => {
    // longer than the scanner's lookahead, so that windows really move
    const text = sample(30);
    expect(text.length).toBeGreaterThan(1500);
    const whole = detect(text).map(key);
    expect(whole.length).toBeGreaterThanOrEqual(60);
    for (let cut = 0; cut <= text.length; cut++) {
      const s = createTextScanner({ batch: 0 });
      const got = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut)), ...s.end()].map(key);
      expect(got, `split at ${cut}`).toEqual(whole);
    }
  });
  it('moves its window over long text in small chunks and keeps offsets, lines and columns', () => {
    const text = sample(120);
    const whole = detect(text);
    for (const size of [1, 7, 100, 4096]) {
      const s = createTextScanner({ batch: 64 });
      const got = [];
      for (let i = 0; i < text.length; i += size) got.push(...s.push(text.slice(i, i + size)));
      got.push(...s.end());
      expect(got.map(key), `chunks of ${size}`).toEqual(whole.map(key));
      for (const d of got) {
        const before = text.slice(0, d.start);
        expect(d.line).toBe(before.split('\n').length);
        expect(d.column).toBe(d.start - before.lastIndexOf('\n'));
      }
    }
  });
  it('keeps memory bounded: the buffer does not grow with the input', () => {
    const s = createTextScanner({ batch: 1024 });
    const chunk = sample(20);
    let n = 0;
    for (let i = 0; i < 300; i++) n += s.push(chunk).length;
    n += s.end().length;
    expect(n).toBe(detect(chunk).length * 300);
  });
});

describe('redaction stream', () => {
  it('gives the same output as redacting the whole text, at every split position', () => {
    const text = sample(30);
    const plan = { operators: { default: 'tag' as const, phone: 'mask' as const } };
    const expected = redactText(text, detect(text), plan);
    for (let cut = 0; cut <= text.length; cut += 3) {
      const r = createRedactor(plan, { batch: 0 });
      const out = r.push(text.slice(0, cut)) + r.push(text.slice(cut)) + r.end();
      expect(out, `split at ${cut}`).toBe(expected);
    }
  });
  it('streams long input in pieces and counts replacements', () => {
    const text = sample(200);
    const plan = { operators: { default: 'mask' as const } };
    const r = createRedactor(plan, { batch: 256 });
    let out = '';
    for (let i = 0; i < text.length; i += 333) out += r.push(text.slice(i, i + 333));
    out += r.end();
    expect(out).toBe(redactText(text, detect(text), plan));
    expect(r.counts.get('phone')).toBe(detect(text).filter((d) => d.type === 'phone').length);
  });
});
