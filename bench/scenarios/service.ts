/**
 * The service over HTTP: autocannon on loopback, 50 connections, against a bare Fastify 5 route that
 * returns a constant (GET and POST: the baselines) and against `pipa serve` (SQLite in WAL mode; the
 * vault write also on PostgreSQL when PIPA_TEST_POSTGRES_URL is set), every server in a process of
 * its own, all in the same run:
 *
 * - decisions over HTTP (POST /v1/apps/{app}/decisions, subjects with consent grants; API key
 *   checked, body validated, the decision from the in-memory projection, denied ones audited):
 *   ratio to the bare POST >= 0.60;
 * - vault write over HTTP (PUT a 10-field profile to a subject that has none yet: validated,
 *   encrypted under a new per-subject data key, phone/e-mail/ID blind-indexed, audited, durable):
 *   ratio to the bare POST >= 0.15, on SQLite and on PostgreSQL;
 * - masked read over HTTP (GET a subject's 10 fields masked: decrypted, masked, audited): ratio to
 *   the bare GET >= 0.30. Also printed, without a target: the same reads against a bare route that
 *   answers the same bytes (one real answer replayed), which separates the answer's size from the
 *   work behind it; and the same reads over a working set the default caches hold (10,000 subjects,
 *   each read once first), where a read unwraps and decrypts nothing.
 *
 * The load generator shares the 2 cores with the server, so what it spends per request counts. The
 * decisions and their baseline send the same 1,000 requests (the same bodies and API-key header, to
 * the decision route and to the bare route), built once by autocannon: the generator does the same,
 * cheap work for both. The vault rows build each request (a new subject each, or reads spread over
 * every subject written) while their baseline sends one constant request: those ratios are lower
 * bounds.
 *
 * Beside each ratio, without a target: the CPU time per successful request of the server process
 * and of its main thread (from /proc on Linux), of the PostgreSQL server's processes when it runs on
 * this machine (the PostgreSQL row), and of the load generator, for the row and for its baseline
 * (medians over the rounds). On this shared machine they vary less than the rates, and they show what
 * bounds a row: the server's cost per request against the bare route's, and how much more the
 * generator spends on the row's requests. A missed row's note turns them into ceilings: the rate its
 * server's main thread allows (one thread runs a Node.js server's JavaScript, its crypto calls and its
 * SQLite statements), and the rate the machine's cores allow for the CPU the server, the database and
 * the generator spend together, each as a ratio to the row's baseline.
 *
 * A row is measured only when the server has its route (OpenAPI), so the harness runs whatever
 * areas exist. The machine is shared and its load drifts, so each row alternates with its baseline
 * in short rounds and the figure is the median of the per-round ratios. Every request of a measured
 * round must succeed (2xx), or the row fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { DEFAULT_CACHES } from '../../packages/server/dist/service/context.js';
import { type Figure, median, round, type Scenario } from '../lib.js';
import { benchDeclaration, profile } from '../profile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = join(ROOT, 'bench', 'service-server.ts');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const CONNECTIONS = 50;
const APP = 'bench-service';
const MASTER_KEY = randomBytes(32).toString('base64');

const DECLARATION = benchDeclaration(APP, { marketing: true });

interface Server {
  url: string;
  token: string | null;
  child: ChildProcess;
  stop(): Promise<void>;
}

function startServer(spec: Record<string, unknown>): Promise<Server> {
  // PIPA_BENCH_SERVER_FLAGS: extra Node.js flags for the server processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  const flags = (process.env.PIPA_BENCH_SERVER_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const child = spawn(process.execPath, [...flags, '--import', TSX, SERVER, JSON.stringify(spec)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 120_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return;
      clearTimeout(timer);
      const parsed = JSON.parse(line) as { url: string; token?: string | null };
      resolve({
        url: parsed.url,
        token: parsed.token ?? null,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}): ${err}`));
    });
  });
}

async function json(
  server: Server,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(server.token !== null ? { authorization: `Bearer ${server.token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

interface LoadSpec {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Per-request path and body (called for every request). */
  next?: () => { path: string; body?: string };
  /** A fixed sequence of requests, built once, which every connection cycles through. */
  sequence?: { path: string; body?: string }[];
  /** Stop after this many requests instead of after `duration`. */
  amount?: number;
  onResponse?: (status: number, body: string) => void;
}

interface LoadResult {
  rate: number;
  ok: number;
  failed: number;
}

async function load(url: string, spec: LoadSpec, durationS: number): Promise<LoadResult> {
  const headers = {
    ...(spec.body !== undefined || spec.next !== undefined || spec.sequence?.some((r) => r.body !== undefined)
      ? { 'content-type': 'application/json' }
      : {}),
    ...spec.headers,
  };
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: durationS }),
    // autocannon ends a run (and measures its duration) at its next sample tick, by default every
    // second: a run of `amount` requests would count the rest of that second as load time (a 4.2 s
    // run read as 5.01 s). Ticks every 10 ms make the duration exact to 10 ms.
    sampleInt: 10,
    requests: spec.sequence?.map((r) => ({
      method: spec.method,
      path: r.path,
      headers,
      ...(r.body !== undefined ? { body: r.body } : {}),
    })) ?? [
      {
        method: spec.method,
        path: spec.path,
        headers,
        ...(spec.body !== undefined ? { body: spec.body } : {}),
        ...(spec.next !== undefined
          ? {
              setupRequest: (req: autocannon.Request) => {
                const n = spec.next?.() ?? { path: spec.path };
                return { ...req, path: n.path, ...(n.body !== undefined ? { body: n.body } : {}) };
              },
            }
          : {}),
        ...(spec.onResponse !== undefined ? { onResponse: (status: number, body: string) => spec.onResponse?.(status, body) } : {}),
      },
    ],
  });
  const ok = result['2xx'];
  return { rate: ok / result.duration, ok, failed: result.non2xx + result.errors + result.timeouts };
}

interface Paired {
  /** Per-round ratios. */
  ratios: number[];
  /** Median rate of the row over the rounds. */
  value: number;
  /** Median rate of the baseline over the same rounds. */
  baseline: number;
  /** Median of the per-round ratios (row / baseline measured just before it). */
  ratio: number;
  failed: number;
  cpu: CpuPerRequest;
}

/**
 * The machine is shared and its load drifts, so the row and its baseline are measured in alternating
 * short rounds (baseline, row, baseline, row …) after a warm-up of each, and the figure is the median
 * of the per-round ratios.
 */
/** One side of a pair: a load spec, the same every round, or one per round (-1: the warm-up). */
interface Side {
  url: string;
  spec: LoadSpec | ((round: number) => LoadSpec);
  /** The server's process, whose CPU time per request is reported (Linux). */
  pid: number | undefined;
  /** CPU time (ms) used so far by the database server the row's server uses, when it runs on this machine. */
  databaseCpuMs?: () => number | undefined;
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat (Linux; fields 14
 * and 15, in clock ticks of 1/100 s, the USER_HZ of every Linux ABI); undefined elsewhere.
 */
function processCpuMs(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statCpuMs(`/proc/${pid}/stat`);
}

/**
 * CPU time (ms) of a process's main thread (/proc/<pid>/task/<pid>/stat): in a Node.js server, the
 * thread that runs its JavaScript, and there the crypto calls and the SQLite statements too.
 */
function mainThreadCpuMs(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

/** utime + stime (+ the reaped children's cutime + cstime when `children`) of a stat file, ms. */
function statCpuMs(file: string, children = false): number | undefined {
  try {
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    let ticks = Number(fields[11]) + Number(fields[12]);
    if (children) ticks += Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms) of a local PostgreSQL server, all its processes: the postmaster (with the backends
 * it has reaped) and its current children (backends, WAL writer, checkpointer, autovacuum). Found
 * from a backend's parent; undefined when the server is not on this machine or /proc does not show it.
 */
async function postgresCpu(url: string): Promise<(() => number | undefined) | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let postmaster: number;
  try {
    // Read while the backend lives: its parent is the postmaster.
    const backend = Number((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid);
    postmaster = Number(readFileSync(`/proc/${backend}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
  } catch {
    return undefined;
  } finally {
    await client.end();
  }
  if (!Number.isInteger(postmaster) || postmaster <= 1) return undefined;
  return () => {
    let total = statCpuMs(`/proc/${postmaster}/stat`, true);
    if (total === undefined) return undefined;
    for (const entry of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      try {
        const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        // the process ended meanwhile: its time is in the postmaster's reaped children's
      }
    }
    return total;
  };
}

/** CPU time of this process (the load generator), ms. */
const generatorCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** A load run with the CPU time per successful request of the server and of the generator, µs. */
async function measuredLoad(
  side: Side,
  spec: LoadSpec,
  seconds: number,
): Promise<LoadResult & { serverUs?: number; mainUs?: number; databaseUs?: number; generatorUs: number }> {
  const s0 = processCpuMs(side.pid);
  const m0 = mainThreadCpuMs(side.pid);
  const d0 = side.databaseCpuMs?.();
  const g0 = generatorCpuMs();
  const r = await load(side.url, spec, seconds);
  const g1 = generatorCpuMs();
  const s1 = processCpuMs(side.pid);
  const m1 = mainThreadCpuMs(side.pid);
  const d1 = side.databaseCpuMs?.();
  const n = Math.max(1, r.ok);
  const per = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? ((b - a) * 1000) / n : undefined);
  const serverUs = per(s0, s1);
  const mainUs = per(m0, m1);
  const databaseUs = per(d0, d1);
  return {
    ...r,
    generatorUs: ((g1 - g0) * 1000) / n,
    ...(serverUs !== undefined ? { serverUs } : {}),
    ...(mainUs !== undefined ? { mainUs } : {}),
    ...(databaseUs !== undefined ? { databaseUs } : {}),
  };
}

const sideOf = (server: Server, spec: Side['spec'], databaseCpuMs?: () => number | undefined): Side => ({
  url: server.url,
  spec,
  pid: server.child.pid,
  ...(databaseCpuMs !== undefined ? { databaseCpuMs } : {}),
});

const specAt = (side: Side, round: number): LoadSpec => (typeof side.spec === 'function' ? side.spec(round) : side.spec);

async function paired(label: string, row: Side, base: Side, rounds: number, seconds: number, log: (l: string) => void): Promise<Paired> {
  await load(base.url, specAt(base, -1), 1);
  await load(row.url, specAt(row, -1), 1);
  const rates: number[] = [];
  const bases: number[] = [];
  const ratios: number[] = [];
  const cpu = {
    server: [] as number[],
    baseServer: [] as number[],
    main: [] as number[],
    database: [] as number[],
    generator: [] as number[],
    baseGenerator: [] as number[],
  };
  let failed = 0;
  for (let r = 0; r < rounds; r++) {
    const b = await measuredLoad(base, specAt(base, r), seconds);
    const v = await measuredLoad(row, specAt(row, r), seconds);
    bases.push(b.rate);
    rates.push(v.rate);
    ratios.push(v.rate / b.rate);
    failed += v.failed + b.failed;
    if (v.serverUs !== undefined && b.serverUs !== undefined) {
      cpu.server.push(v.serverUs);
      cpu.baseServer.push(b.serverUs);
    }
    if (v.mainUs !== undefined) cpu.main.push(v.mainUs);
    if (v.databaseUs !== undefined) cpu.database.push(v.databaseUs);
    cpu.generator.push(v.generatorUs);
    cpu.baseGenerator.push(b.generatorUs);
  }
  const perRequest: CpuPerRequest = {
    ...(cpu.server.length > 0 ? { server: median(cpu.server), baseServer: median(cpu.baseServer) } : {}),
    ...(cpu.main.length === rounds ? { main: median(cpu.main) } : {}),
    ...(cpu.database.length === rounds ? { database: median(cpu.database) } : {}),
    generator: median(cpu.generator),
    baseGenerator: median(cpu.baseGenerator),
  };
  const out = { ratios, value: median(rates), baseline: median(bases), ratio: median(ratios), failed, cpu: perRequest };
  log(
    `${label}: ${round(out.value)} req/s vs ${round(out.baseline)} req/s, ratio ${round(out.ratio, 3)} ` +
      `(rounds: ${ratios.map((x) => round(x, 2)).join(', ')}; ${failed} failed); ${describeCpu(perRequest)}`,
  );
  return out;
}

/** Median CPU time per successful request, µs: the servers' processes and the load generator's. */
interface CpuPerRequest {
  server?: number;
  baseServer?: number;
  /** The row's server process's main thread (part of `server`). */
  main?: number;
  /** The row's database server's processes (PostgreSQL on this machine). */
  database?: number;
  generator: number;
  baseGenerator: number;
}

function describeCpu(c: CpuPerRequest): string {
  const server =
    c.server !== undefined && c.baseServer !== undefined
      ? `server CPU per request ${round(c.server)} µs vs ${round(c.baseServer)} µs for the bare route (its ratio ${round(c.baseServer / c.server, 3)}), `
      : '';
  const main = c.main !== undefined ? `of which its main thread ${round(c.main)} µs, ` : '';
  const database = c.database !== undefined ? `PostgreSQL CPU per request ${round(c.database)} µs, ` : '';
  return `${server}${main}${database}load generator CPU per request ${round(c.generator)} µs vs ${round(c.baseGenerator)} µs`;
}

/**
 * What the CPU the row used per request allows at most, from the medians over its rounds: its
 * server's main thread alone (one thread runs a Node.js server's JavaScript, crypto calls and SQLite
 * statements), and the server, the database server and the load generator together on this
 * machine's cores (all three share them), each as a rate and as a ratio to the row's baseline.
 */
function cpuBoundOf(p: Paired): string {
  const c = p.cpu;
  const parts: string[] = [];
  if (c.main !== undefined && c.main > 0) {
    const rate = 1e6 / c.main;
    parts.push(
      `the server's main thread alone allows at most ${round(rate)} req/s at ${round(c.main)} µs each (a ratio of ${round(rate / p.baseline, 3)})`,
    );
  }
  if (c.server !== undefined) {
    const total = c.server + (c.database ?? 0) + c.generator;
    const cores = availableParallelism();
    const rate = (cores * 1e6) / total;
    parts.push(
      `the server${c.database !== undefined ? ', PostgreSQL' : ''} and the load generator together use ${round(total)} µs of CPU per request, ` +
        `so ${cores} cores allow at most ${round(rate)} req/s (a ratio of ${round(rate / p.baseline, 3)}) even with no waiting`,
    );
  }
  return parts.length > 0 ? `CPU bound: ${parts.join('; ')}` : '';
}

async function routesOf(server: Server): Promise<Set<string>> {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const out = new Set<string>();
  for (const [path, methods] of Object.entries(doc.paths)) for (const m of Object.keys(methods)) out.add(`${m.toUpperCase()} ${path}`);
  return out;
}

/** Create `n` subjects at full speed (autocannon), returning their ids. */
async function createSubjects(server: Server, n: number): Promise<string[]> {
  const ids: string[] = [];
  const r = await load(
    server.url,
    {
      method: 'POST',
      path: `/v1/apps/${APP}/subjects`,
      headers: { authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ kind: 'account' }),
      amount: n,
      onResponse: (status, body) => {
        if (status === 200 || status === 201) ids.push((JSON.parse(body) as { id: string }).id);
      },
    },
    0,
  );
  if (r.failed > 0 || ids.length !== n) throw new Error(`creating subjects: ${r.failed} failed, ${ids.length} of ${n} created`);
  return ids;
}

async function setUpApp(server: Server): Promise<void> {
  const r = await json(server, 'POST', `/v1/apps/${APP}/policies`, {
    declaration: DECLARATION,
    force: true,
    reason: 'benchmark declaration (lint findings are not what is measured)',
  });
  if (r.status !== 201) throw new Error(`publishing the bench declaration: ${r.status} ${JSON.stringify(r.body)}`);
}

async function pgSchema(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `pipa_bench_http_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  await admin.end();
  return {
    url: `${url}${url.includes('?') ? '&' : '?'}schema=${schema}&pool_size=10`,
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    },
  };
}

/** PUT a 10-field profile to each of `subjects` in turn (each subject written once). */
function vaultWriteSpec(server: Server, subjects: readonly string[], offset: number): LoadSpec {
  let i = 0;
  return {
    method: 'PUT',
    path: '/',
    headers: { authorization: `Bearer ${server.token}` },
    amount: subjects.length,
    next: () => {
      const k = i++;
      return {
        path: `/v1/apps/${APP}/subjects/${subjects[k % subjects.length]}/pi`,
        body: JSON.stringify({ fields: profile(offset + k) }),
      };
    },
  };
}

/**
 * The vault-write row on `server`: one slice of `perRound` fresh subjects per round (and one for the
 * warm-up), each written once, paired with the bare POST. Returns the figure and the
 * subjects written.
 */
async function measureVaultWrite(
  label: string,
  server: Server,
  bare: Server,
  barePost: LoadSpec,
  perRound: number,
  runs: { rounds: number; seconds: number; log: (l: string) => void; databaseCpuMs?: () => number | undefined },
): Promise<{ paired: Paired; written: string[] }> {
  const slices: string[][] = [];
  for (let r = 0; r <= runs.rounds; r++) slices.push(await createSubjects(server, perRound));
  const spec = (r: number) => vaultWriteSpec(server, slices[r + 1] as string[], (r + 1) * perRound);
  const p = await paired(label, sideOf(server, spec, runs.databaseCpuMs), sideOf(bare, barePost), runs.rounds, runs.seconds, runs.log);
  return { paired: p, written: slices.flat() };
}

/** Why a row misses its target (what bounds it), shown in the note when it does. */
const BOUNDS: Record<string, string> = {
  decisions:
    'the decision itself is microseconds (bench/results/decisions.json); over HTTP each request also pays the API key check, zod validation of params and body, the allow-listed serialisation and the security headers, which the constant route does not',
  'vault write':
    "bounded by the vault's write path: per write a new per-subject data key (generated and wrapped by the master key, its row written), the record sealed, 2 blind indexes computed and written, the audit event, about a dozen b-tree insertions (several at random places: blind indexes, audit pseudonyms) and the commit's share of the pages they dirtied, against one row for the baseline; plus the JSON body parsed and validated (bench/results/vault.json has the in-process figure)",
  'vault write pg':
    "bounded by the vault's write path (see the SQLite row) plus PostgreSQL round trips per statement, with the database server, the pipa server and the load generator on the same 2 cores",
  'masked read':
    "bounded by the vault's read path and the response: per request the API key check, a database read (subject, record and, when not cached, the wrapped data key), one decryption and 10 masks unless the masked values are cached (the reads are spread over more subjects than the caches hold), and a ~1.2 KB JSON answer with the security headers where the baseline sends a few bytes; see the in-process masked-read figures in bench/results/vault.json",
};

/** Headers a server sets per connection or per answer, not part of what a route answers. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

/**
 * The masked read against a bare route that answers the same bytes (one real answer of the read
 * route, its body and headers, replayed by a bare Fastify route): how much of the gap to the bare
 * GET is the answer's size (writing and parsing ~1.2 KB and the security headers), and how much the
 * work behind it. Informational: the figure with the target is the one against the bare GET.
 *
 * Its note also says what the target leaves for the read's own work: at the target rate (the ratio
 * times the bare GET's rate, in the same run) a request has 1/rate seconds, of which answering the
 * same bytes from a bare route already takes 1/(the replay's rate).
 */
async function sameBytes(
  pipa: Server,
  readSpec: LoadSpec,
  samplePath: string,
  servers: Server[],
  opts: { rounds: number; seconds: number; log: (l: string) => void; target: { ratio: number; bareRate: number } },
): Promise<Figure> {
  const answer = await fetch(`${pipa.url}${samplePath}`, { headers: { authorization: `Bearer ${pipa.token}` } });
  const body = await answer.text();
  if (answer.status !== 200) throw new Error(`masked read sample: ${answer.status} ${body}`);
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (!TRANSPORT_HEADERS.has(name)) headers[name] = value;
  });
  const replay = await startServer({ mode: 'bare', reply: { body, headers } });
  servers.push(replay);
  const same: LoadSpec = { method: 'GET', path: '/r' };
  const check = await fetch(`${replay.url}/r`);
  if ((await check.text()) !== body) throw new Error('the bare replay route does not answer the masked read body');
  const p = await paired(
    'masked read over HTTP vs the same answer from a bare route',
    sideOf(pipa, readSpec),
    sideOf(replay, same),
    opts.rounds,
    opts.seconds,
    opts.log,
  );
  await replay.stop();
  return informational(
    'masked read over HTTP vs a bare route answering the same bytes (informational)',
    p,
    'the answer replayed by a bare route, to separate its size from the work behind it',
    `answer ${Buffer.byteLength(body)} bytes of JSON and ${Object.keys(headers).length} headers; ${budgetOf(p.baseline, opts.target)}; ${spreadOf(p)}`,
  );
}

/**
 * The masked read over a working set the vault's caches hold (informational): reads spread over as
 * many subjects as the default caches keep, each read once before the rounds, so that a read neither
 * unwraps a key nor decrypts a record. What an operator gets with the caches sized to the subjects
 * read within a few minutes (pipa serve --key-cache, --masked-cache); the figure with the target
 * spreads its reads over every subject written, more than the caches hold.
 */
async function withinCaches(
  pipa: Server,
  bare: Server,
  bareGet: LoadSpec,
  written: readonly string[],
  opts: { rounds: number; seconds: number; log: (l: string) => void },
): Promise<Figure> {
  const hot = written.slice(0, Math.min(DEFAULT_CACHES.dataKeys, DEFAULT_CACHES.maskedSubjects));
  let i = 0;
  const spec = (amount?: number): LoadSpec => ({
    method: 'GET',
    path: '/',
    headers: { authorization: `Bearer ${pipa.token}` },
    next: () => ({ path: `/v1/apps/${APP}/subjects/${hot[(i++ * 7919) % hot.length]}/pi` }),
    ...(amount !== undefined ? { amount } : {}),
  });
  const warm = await load(pipa.url, spec(hot.length), 0);
  if (warm.failed > 0) throw new Error(`masked reads of the working set: ${warm.failed} failed`);
  const p = await paired(
    `masked read over HTTP, ${hot.length.toLocaleString('en')} subjects (within the caches)`,
    sideOf(pipa, spec()),
    sideOf(bare, bareGet),
    opts.rounds,
    opts.seconds,
    opts.log,
  );
  return informational(
    `masked read over HTTP, reads spread over ${hot.length.toLocaleString('en')} subjects, which the default caches hold (informational)`,
    p,
    'the working set within the caches, as an operator sizes them with pipa serve --key-cache and --masked-cache',
    spreadOf(p),
  );
}

/**
 * The masked read over every subject written, by two new servers on the same file, started alike
 * but for `mmap_size`: one as `pipa serve` runs by default (the file read through a memory map,
 * DEFAULT_SQLITE_MMAP_SIZE), one with `mmap_size=0` (each page the page cache does not hold is a
 * `pread` and a copy). Informational: what the default is worth on a vault larger than the page cache.
 */
async function withoutMemoryMap(
  pipa: Server,
  dataDir: string,
  written: readonly string[],
  servers: Server[],
  opts: { rounds: number; seconds: number; log: (l: string) => void },
): Promise<Figure> {
  const file = join(dataDir, 'pipa.db');
  const mapped = await startServer({ mode: 'pipa', dataDir, db: `sqlite:${file}`, masterKey: MASTER_KEY });
  servers.push(mapped);
  const unmapped = await startServer({ mode: 'pipa', dataDir, db: `sqlite:${file}?mmap_size=0`, masterKey: MASTER_KEY });
  servers.push(unmapped);
  const spec = (): LoadSpec => {
    let i = 0;
    return {
      method: 'GET',
      path: '/',
      headers: { authorization: `Bearer ${pipa.token}` },
      next: () => ({ path: `/v1/apps/${APP}/subjects/${written[(i++ * 7919) % written.length]}/pi` }),
    };
  };
  const p = await paired(
    'masked read over HTTP, memory-mapped file vs mmap_size=0',
    sideOf(mapped, spec()),
    sideOf(unmapped, spec()),
    opts.rounds,
    opts.seconds,
    opts.log,
  );
  await mapped.stop();
  await unmapped.stop();
  return informational(
    'masked read over HTTP, the SQLite file read through the default memory map vs the same file read without one (mmap_size=0), two new servers (informational)',
    p,
    'what the default mmap_size is worth on a vault larger than the 16 MiB page cache',
    `${(statSync(file).size / 1024 / 1024).toFixed(0)} MiB database file; ${spreadOf(p)}`,
  );
}

/** What the masked read's target leaves for the read's own work, given the rate of a bare route answering the same bytes. */
function budgetOf(replayRate: number, target: { ratio: number; bareRate: number }): string {
  const atTarget = target.ratio * target.bareRate;
  const perRequest = 1e6 / atTarget;
  const replay = 1e6 / replayRate;
  const left = perRequest - replay;
  return (
    `at the target (${target.ratio} × the bare GET's ${round(target.bareRate)} req/s = ${round(atTarget)} req/s) the server has ${round(perRequest, 1)} µs per read; ` +
    `answering the same bytes from a bare route takes ${round(replay, 1)} µs (${round(replayRate)} req/s, ${round(replayRate / target.bareRate, 3)} of the bare GET), ` +
    (left > 0 ? `which leaves ${round(left, 1)} µs for the read's own work` : "which leaves nothing for the read's own work")
  );
}

/** The spread of a pair's rounds and the CPU per request, for a figure's note. */
function spreadOf(p: Paired): string {
  return `rounds ${round(Math.min(...p.ratios), 2)}–${round(Math.max(...p.ratios), 2)} on a shared 2-core machine; ${describeCpu(p.cpu)}`;
}

/** A pair's figure fields: the row's rate, its baseline's, their ratio. */
function ratesOf(p: Paired): Pick<Figure, 'value' | 'unit' | 'baseline' | 'ratio'> {
  return { value: round(p.value), unit: 'req/s', baseline: round(p.baseline), ratio: round(p.ratio, 3) };
}

/** A row without a target: the pair's rates and ratio, `why` it is printed, and its note. */
function informational(name: string, p: Paired, why: string, note: string): Figure {
  return { name, ...ratesOf(p), target: `none (informational: ${why})`, ok: p.failed === 0, note };
}

function figure(name: string, p: Paired, min: number, baseline: 'GET' | 'POST', bound: string): Figure {
  const ok = p.ratio >= min && p.failed === 0;
  const spread = spreadOf(p);
  return {
    name,
    ...ratesOf(p),
    target: `ratio >= ${min} of the bare ${baseline} (median of paired rounds)${p.failed > 0 ? `; ${p.failed} requests failed` : ''}`,
    ok,
    note: ok
      ? spread
      : [
          `missed by ${round(min - p.ratio, 3)} (${round((100 * (min - p.ratio)) / min)} % of the target)`,
          BOUNDS[bound] ?? '',
          cpuBoundOf(p),
          spread,
        ]
          .filter((x) => x !== '')
          .join('; '),
  };
}

export const serviceScenario: Scenario = {
  name: 'service',
  description: 'HTTP: decisions, vault write (SQLite, PostgreSQL) and masked read vs a bare Fastify route, autocannon, 50 connections',
  async run({ quick, log }) {
    const rounds = quick ? 3 : 7;
    const seconds = quick ? 2 : 3;
    /** Subjects written per round (vault write rows run a fixed number of writes, each to a new subject). */
    const perRound = quick ? 3_000 : 10_000;
    const figures: Figure[] = [];
    const dirs: string[] = [];
    const servers: Server[] = [];
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const bare = await startServer({ mode: 'bare' });
      servers.push(bare);
      const smallBody = JSON.stringify({ subject: 'sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', purpose: 'marketing', categories: ['contact.phone'] });
      const bareGet: LoadSpec = { method: 'GET', path: '/c' };
      const barePost: LoadSpec = { method: 'POST', path: '/c', body: smallBody };
      await load(bare.url, bareGet, 1);
      await load(bare.url, barePost, 1);
      const getRate = await load(bare.url, bareGet, seconds);
      const postRate = await load(bare.url, barePost, seconds);
      log(`bare GET ${round(getRate.rate)} req/s, bare POST ${round(postRate.rate)} req/s`);
      figures.push({
        name: 'bare Fastify GET (constant), for reference',
        value: round(getRate.rate),
        unit: 'req/s',
        target: 'baseline',
        ok: true,
      });
      figures.push({
        name: 'bare Fastify POST (constant), for reference',
        value: round(postRate.rate),
        unit: 'req/s',
        target: 'baseline',
        ok: true,
      });

      const dataDir = mkdtempSync(join(tmpdir(), 'pipa-bench-http-'));
      dirs.push(dataDir);
      const pipa = await startServer({ mode: 'pipa', dataDir, masterKey: MASTER_KEY });
      servers.push(pipa);
      await setUpApp(pipa);
      const routes = await routesOf(pipa);
      const has = (r: string) => routes.has(r);

      let written: string[] = [];
      if (has('POST /v1/apps/{app}/subjects') && has('PUT /v1/apps/{app}/subjects/{subject}/pi')) {
        const m = await measureVaultWrite('vault write over HTTP, SQLite', pipa, bare, barePost, perRound, { rounds, seconds, log });
        written = m.written;
        figures.push(figure('vault write over HTTP (10-field profile, new subject), SQLite', m.paired, 0.15, 'POST', 'vault write'));
      } else log('vault write over HTTP: route not present, not measured');

      if (has('GET /v1/apps/{app}/subjects/{subject}/pi') && written.length > 0) {
        let i = 0;
        const readSpec: LoadSpec = {
          method: 'GET',
          path: '/',
          headers: { authorization: `Bearer ${pipa.token}` },
          next: () => ({ path: `/v1/apps/${APP}/subjects/${written[(i++ * 7919) % written.length]}/pi` }),
        };
        const p = await paired('masked read over HTTP', sideOf(pipa, readSpec), sideOf(bare, bareGet), rounds, seconds, log);
        figures.push(figure('masked read over HTTP (10 fields)', p, 0.3, 'GET', 'masked read'));
        figures.push(
          await sameBytes(pipa, readSpec, `/v1/apps/${APP}/subjects/${written[0]}/pi`, servers, {
            rounds,
            seconds,
            log,
            target: { ratio: 0.3, bareRate: p.baseline },
          }),
        );
        figures.push(await withinCaches(pipa, bare, bareGet, written, { rounds, seconds, log }));
        figures.push(await withoutMemoryMap(pipa, dataDir, written, servers, { rounds, seconds, log }));
      } else log('masked read over HTTP: route not present, not measured');

      if (has('POST /v1/apps/{app}/decisions') && has('POST /v1/apps/{app}/subjects/{subject}/consents')) {
        const granted = written.length > 0 ? written.slice(0, 1000) : await createSubjects(pipa, 1000);
        for (let k = 0; k < granted.length; k += 25) {
          await Promise.all(
            granted.slice(k, k + 25).map(async (s) => {
              const g = await json(pipa, 'POST', `/v1/apps/${APP}/subjects/${s}/consents`, {
                action: 'grant',
                consents: [{ purpose: 'marketing' }],
                method: 'user',
                policyVersion: '1',
              });
              if (g.status !== 201) throw new Error(`consent grant: ${g.status} ${JSON.stringify(g.body)}`);
            }),
          );
        }
        const check = await json(pipa, 'POST', `/v1/apps/${APP}/decisions`, {
          subject: granted[0],
          purpose: 'marketing',
          categories: ['contact.phone'],
        });
        if (check.body.allow !== true) throw new Error(`decision set-up: expected allow, got ${JSON.stringify(check.body)}`);
        // The same 1,000 requests to the decision route and to the bare route, built once.
        const decisions = granted.map((subject) => ({
          body: JSON.stringify({ subject, purpose: 'marketing', categories: ['contact.phone'] }),
        }));
        const decideHeaders = { authorization: `Bearer ${pipa.token}` };
        const decideSpec: LoadSpec = {
          method: 'POST',
          path: `/v1/apps/${APP}/decisions`,
          headers: decideHeaders,
          sequence: decisions.map((d) => ({ path: `/v1/apps/${APP}/decisions`, body: d.body })),
        };
        const bareDecisions: LoadSpec = {
          method: 'POST',
          path: '/c',
          headers: decideHeaders,
          sequence: decisions.map((d) => ({ path: '/c', body: d.body })),
        };
        const p = await paired('decisions over HTTP', sideOf(pipa, decideSpec), sideOf(bare, bareDecisions), rounds, seconds, log);
        figures.push(figure('decisions over HTTP', p, 0.6, 'POST', 'decisions'));
      } else log('decisions over HTTP: route not present, not measured');
      await pipa.stop();

      const pgUrl = process.env.PIPA_TEST_POSTGRES_URL;
      if (pgUrl !== undefined && pgUrl !== '') {
        const schema = await pgSchema(pgUrl);
        cleanups.push(schema.drop);
        const pgDir = mkdtempSync(join(tmpdir(), 'pipa-bench-http-pg-'));
        dirs.push(pgDir);
        const onPg = await startServer({ mode: 'pipa', dataDir: pgDir, db: schema.url, masterKey: MASTER_KEY });
        servers.push(onPg);
        await setUpApp(onPg);
        if ((await routesOf(onPg)).has('PUT /v1/apps/{app}/subjects/{subject}/pi')) {
          const databaseCpuMs = await postgresCpu(pgUrl);
          if (databaseCpuMs === undefined) log('PostgreSQL is not on this machine (or /proc does not show it): its CPU is not reported');
          const m = await measureVaultWrite('vault write over HTTP, PostgreSQL', onPg, bare, barePost, Math.round(perRound / 3), {
            rounds,
            seconds,
            log,
            ...(databaseCpuMs !== undefined ? { databaseCpuMs } : {}),
          });
          figures.push(
            figure('vault write over HTTP (10-field profile, new subject), PostgreSQL', m.paired, 0.15, 'POST', 'vault write pg'),
          );
        }
        await onPg.stop();
      } else log('PostgreSQL: PIPA_TEST_POSTGRES_URL not set, vault write on PostgreSQL not measured');
      return figures;
    } finally {
      for (const s of servers) await s.stop();
      for (const c of cleanups) await c().catch(() => {});
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  },
};
