import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDirectories } from './fs.js';

describe('makeDirectories', () => {
  const dirs: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'pipa-fs-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates the missing folders with the mode, and accepts one that exists', () => {
    const root = temp();
    const deep = join(root, 'a', 'b', 'c');
    expect(makeDirectories(deep, 0o700)).toEqual([join(root, 'a'), join(root, 'a', 'b'), deep]);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
    expect(makeDirectories(deep)).toEqual([]);
    expect(makeDirectories(root)).toEqual([]);
  });

  it('a file in the way is ENOTDIR, whether it is the folder itself or one above it', () => {
    const root = temp();
    const file = join(root, 'f');
    writeFileSync(file, 'x');
    expect(() => makeDirectories(file)).toThrow(expect.objectContaining({ code: 'ENOTDIR', path: file }));
    expect(() => makeDirectories(join(file, 'below', 'deeper'))).toThrow(expect.objectContaining({ code: 'ENOTDIR', path: file }));
    expect(existsSync(join(file, 'below'))).toBe(false);
  });

  it.runIf(process.platform === 'linux' && existsSync('/proc/self'))(
    'a folder under /proc fails at once (Node’s recursive mkdir never returns there)',
    () => {
      const started = Date.now();
      expect(() => makeDirectories('/proc/pipa-no-such/data')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(Date.now() - started).toBeLessThan(1000);
    },
  );
});
