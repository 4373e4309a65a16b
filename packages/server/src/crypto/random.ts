/**
 * Randomness, injected. Every function here that needs random bytes (nonces, data keys, master
 * keys) takes a `RandomSource`, so tests can be exact (known-answer tests with fixed nonces).
 *
 * The default source reads the operating system CSPRNG through `crypto.randomFillSync`, in 4 KiB
 * refills: `crypto.randomBytes(12)` costs several microseconds per call on Node 20, which would
 * dominate a ~7 µs field encryption. Each byte of the pool is handed out once and then overwritten
 * by the next refill, so no nonce is ever reused; the pool lives in this process only.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { CryptoError } from './errors.js';

/** Returns `size` fresh random bytes, owned by the caller. */
export type RandomSource = (size: number) => Buffer;

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

function takeFromPool(target: Buffer, offset: number, length: number): void {
  if (length > POOL_SIZE / 4) {
    randomFillSync(target, offset, length);
    return;
  }
  if (poolOffset + length > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(target, offset, poolOffset, poolOffset + length);
  // Wipe what was handed out, so the pool never holds a copy of a nonce or key already in use.
  pool.fill(0, poolOffset, poolOffset + length);
  poolOffset += length;
}

/** The operating system CSPRNG (the default everywhere). */
export const systemRandom: RandomSource = (size: number): Buffer => {
  const out = Buffer.allocUnsafe(size);
  takeFromPool(out, 0, size);
  return out;
};

/** Write `length` random bytes from `source` into `target` at `offset` (no allocation for the default source). */
export function randomInto(source: RandomSource, target: Buffer, offset: number, length: number): void {
  if (source === systemRandom) {
    takeFromPool(target, offset, length);
    return;
  }
  const bytes = source(length);
  if (bytes.length !== length) {
    throw new CryptoError(
      'invalid_argument',
      `random source returned ${bytes.length} bytes, ${length} were asked for`,
      `随机数源返回了 ${bytes.length} 字节，请求的是 ${length} 字节`,
    );
  }
  bytes.copy(target, offset);
}

/**
 * A deterministic source for TESTS ONLY: SHA-256(seed || counter) blocks. The same seed gives the
 * same bytes in every run. Never use it outside tests: anyone who knows the seed knows every key.
 */
export function createSeededRandom(seed: string | Buffer): RandomSource {
  const seedBytes = typeof seed === 'string' ? Buffer.from(seed, 'utf8') : Buffer.from(seed);
  let counter = 0n;
  let buffered = Buffer.alloc(0);
  return (size: number): Buffer => {
    while (buffered.length < size) {
      const ctr = Buffer.alloc(8);
      ctr.writeBigUInt64BE(counter++);
      buffered = Buffer.concat([buffered, createHash('sha256').update(seedBytes).update(ctr).digest()]);
    }
    const out = Buffer.from(buffered.subarray(0, size));
    buffered = buffered.subarray(size);
    return out;
  };
}
