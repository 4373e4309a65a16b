import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capabilitiesOf } from './capabilities.js';
import { DEFAULT_SQLITE_MMAP_SIZE, describeDatabase, dialectOfUrl, resolveDatabaseConfig } from './config.js';
import { isStoreError } from './errors.js';

const cwd = '/srv/pipa';

function invalid(input: Parameters<typeof resolveDatabaseConfig>[0]): string {
  try {
    resolveDatabaseConfig(input);
  } catch (err) {
    expect(isStoreError(err, 'invalid_config')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected invalid_config');
}

describe('database configuration', () => {
  it('defaults to a SQLite file in ./.pipa with process durability', () => {
    expect(resolveDatabaseConfig({ cwd })).toEqual({
      dialect: 'sqlite',
      file: join(cwd, '.pipa', 'pipa.db'),
      durability: 'process',
      busyTimeoutMs: 5000,
      statementCacheSize: 500,
      mmapSize: 1024 * 1024 * 1024,
      checkpoint: 'background',
      checkpointIntervalMs: 1000,
    });
    expect(resolveDatabaseConfig({ cwd, dataDir: '/var/lib/pipa' })).toMatchObject({ file: '/var/lib/pipa/pipa.db' });
  });

  it('reads every SQLite spelling', () => {
    const file = (url: string) => {
      const r = resolveDatabaseConfig({ url, cwd });
      if (r.dialect !== 'sqlite') throw new Error('not sqlite');
      return r.file;
    };
    expect(file('sqlite:data/x.db')).toBe('/srv/pipa/data/x.db');
    expect(file('sqlite:/abs/x.db')).toBe('/abs/x.db');
    expect(file('sqlite:///abs/x.db')).toBe('/abs/x.db');
    expect(file('file:///abs/x.db')).toBe('/abs/x.db');
    expect(file('x.db')).toBe('/srv/pipa/x.db');
    expect(file(':memory:')).toBe(':memory:');
    expect(file('sqlite::memory:')).toBe(':memory:');
  });

  it('takes durability and busy timeout from the URL, overridden by options', () => {
    expect(resolveDatabaseConfig({ url: 'sqlite:x.db?durability=power&busy_timeout=100', cwd })).toMatchObject({
      durability: 'power',
      busyTimeoutMs: 100,
    });
    expect(resolveDatabaseConfig({ url: 'sqlite:x.db?durability=power', cwd, durability: 'process' })).toMatchObject({
      durability: 'process',
    });
  });

  it('checkpoints a SQLite file in the background unless told inline; in memory there is no log', () => {
    expect(resolveDatabaseConfig({ url: 'sqlite:x.db?checkpoint=inline', cwd })).toMatchObject({ checkpoint: 'inline' });
    expect(resolveDatabaseConfig({ url: 'sqlite:x.db?checkpoint=inline', cwd, checkpoint: 'background' })).toMatchObject({
      checkpoint: 'background',
    });
    expect(resolveDatabaseConfig({ url: ':memory:', cwd })).toMatchObject({ checkpoint: 'inline' });
    expect(invalid({ url: 'sqlite:x.db?checkpoint=sometimes', cwd })).toMatch(
      /checkpoint must be one of background, inline \(got sometimes\)/,
    );
    expect(invalid({ url: 'sqlite:x.db', cwd, checkpointIntervalMs: 0 })).toMatch(/checkpointIntervalMs must be an integer >= 10/);
  });

  it('reads a SQLite file through a 1 GiB memory map unless told a size (0 = none); in memory there is no file to map', () => {
    expect(DEFAULT_SQLITE_MMAP_SIZE).toBe(1024 * 1024 * 1024);
    expect(resolveDatabaseConfig({ url: 'sqlite:x.db?mmap_size=0', cwd })).toMatchObject({ mmapSize: 0 });
    expect(resolveDatabaseConfig({ url: 'sqlite:x.db?mmap_size=268435456', cwd })).toMatchObject({ mmapSize: 268_435_456 });
    expect(resolveDatabaseConfig({ url: 'sqlite:x.db?mmap_size=0', cwd, mmapSize: 4096 })).toMatchObject({ mmapSize: 4096 });
    expect(resolveDatabaseConfig({ url: ':memory:', cwd, mmapSize: 4096 })).toMatchObject({ mmapSize: 0 });
    expect(invalid({ url: 'sqlite:x.db?mmap_size=-1', cwd })).toMatch(/mmap_size must be an integer >= 0 \(got -1\)/);
    expect(invalid({ url: 'sqlite:x.db?mmap_size=1GB', cwd })).toMatch(/mmap_size must be an integer >= 0 \(got 1GB\)/);
    expect(invalid({ url: 'sqlite:x.db?mmap_size=99999999999999999999', cwd })).toMatch(/mmap_size must be an integer/);
    expect(invalid({ url: 'sqlite:x.db', cwd, mmapSize: 1.5 })).toMatch(/mmap_size must be an integer >= 0 \(got 1.5\)/);
  });

  it('rejects what it does not understand, saying what', () => {
    expect(invalid({ url: 'sqlite:x.db?durability=fsync', cwd })).toMatch(/durability must be one of process, power/);
    expect(invalid({ url: 'sqlite:x.db?journal=wal', cwd })).toMatch(/unknown SQLite database URL parameter "journal"/);
    expect(invalid({ url: 'mysql://root@localhost/pipa', cwd })).toMatch(/unsupported database URL scheme "mysql:"/);
    expect(invalid({ url: 'sqlite:', cwd })).toMatch(/names no file/);
    expect(invalid({ url: '  ', cwd })).toMatch(/empty/);
    expect(invalid({ url: 'postgres://u@h/db?pool_size=0' })).toMatch(/pool_size must be an integer >= 1/);
    expect(invalid({ url: 'postgres://u@h/db?schema=Bad-Name' })).toMatch(/schema must be a lower-case SQL identifier/);
    expect(invalid({ url: 'sqlite:x.db', cwd, busyTimeoutMs: -1 })).toMatch(/busy_timeout/);
  });

  it('reads PostgreSQL URLs and keeps pipa parameters away from pg', () => {
    const r = resolveDatabaseConfig('postgresql://pipa:secret@db.internal:5433/pipa?schema=tenant_a&pool_size=20&sslmode=require');
    expect(r).toMatchObject({ dialect: 'postgres', schema: 'tenant_a', poolSize: 20, applicationName: 'pipa' });
    if (r.dialect !== 'postgres') throw new Error('not postgres');
    expect(r.connectionString).toBe('postgresql://pipa:secret@db.internal:5433/pipa?sslmode=require');
    expect(describeDatabase(r)).toBe('postgresql://pipa:***@db.internal:5433/pipa?sslmode=require&schema=tenant_a');
    // pg reads every query parameter as a setting: a password there is masked too.
    const inQuery = resolveDatabaseConfig('postgres://pipa@db/pipa?password=s3cret&sslpassword=k3y&application_name=x');
    expect(describeDatabase(inQuery)).toBe('postgres://pipa@db/pipa?password=***&sslpassword=***&application_name=x');
    expect(dialectOfUrl('postgres://x')).toBe('postgres');
    expect(dialectOfUrl('sqlite:x')).toBe('sqlite');
  });

  it('keeps dialect differences in the capability table', () => {
    expect(capabilitiesOf('sqlite')).toMatchObject({ skipLocked: false, rowLocks: false, listenNotify: false, bytesType: 'blob' });
    expect(capabilitiesOf('postgres')).toMatchObject({
      skipLocked: true,
      rowLocks: true,
      listenNotify: true,
      bytesType: 'bytea',
      jsonb: true,
    });
  });
});
