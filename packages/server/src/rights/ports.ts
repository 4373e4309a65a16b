/**
 * What the rights service needs from the other areas, as narrow interfaces. `adapters.ts` builds them
 * on the real services (vault, consent ledger, connectors, calendar); tests may pass their own.
 */
import type { DatasetDecl } from '@pipa/policy';
import type { Kysely } from 'kysely';
import type { JobQueue } from '../jobs/queue.js';
import type { Schema } from '../store/schema.js';
import type { SubjectService } from '../subjects/index.js';
import type { Connector } from './connectors/types.js';
import type { DeadlineCalendar } from './deadline.js';

/** Who acts (audit actor) and in which HTTP request. */
export interface RightsActor {
  /** `subject`, `key_…`, `user:<name>`, `system`, `job:rights.task`. */
  id: string;
  httpRequestId?: string | null;
}

export interface VaultFieldValue {
  category: string;
  value: string;
  /** When the value was first stored (null: unknown). */
  since: number | null;
  updatedAt: number | null;
}

export interface VaultErasure {
  categories: string[];
  fieldsDeleted: number;
  keysShredded: number;
  alreadyErased: boolean;
  /** `pending-kek-retirement`: backups taken before hold the wrapped key until the master key version is retired. */
  backups: string;
  /** The store's own files: `overwritten` (SQLite), `pending-kek-retirement` (PostgreSQL), `complete` (nothing shredded). */
  storage: string;
}

/** The vault as a rights request uses it: everything plain (audited as a rights access), correct, erase. */
export interface RightsVault {
  /** The subject's fields (and its linked devices'), plain; `categories` limits them. Audited as `rights.read` before it returns. */
  readAll(
    appId: string,
    subjectId: string,
    actor: RightsActor & { request: string },
    categories?: readonly string[],
  ): Promise<VaultFieldValue[]>;
  /** Which categories the vault holds for the subject (no decryption). */
  categories(db: Kysely<Schema>, appId: string, subjectId: string): Promise<string[]>;
  /** Replace the values of these categories (correction). */
  put(appId: string, subjectId: string, values: Readonly<Record<string, string>>, actor: RightsActor): Promise<void>;
  /** Crypto-shred and delete the subject's fields (and its linked devices'). Idempotent. */
  erase(appId: string, subjectId: string, actor: RightsActor): Promise<VaultErasure>;
}

export interface RightsConsent {
  /** Withdraw these purposes / recipients (everything granted when empty). Returns how many ledger events it wrote. */
  withdraw(
    appId: string,
    subjectId: string,
    items: readonly { purpose: string; recipient?: string | null }[],
    actor: RightsActor,
  ): Promise<number>;
}

/** A connector for one declared dataset (the caller closes it). */
export type ConnectorFactory = (appId: string, dataset: DatasetDecl) => Connector;

export interface RightsDeps {
  subjects: SubjectService;
  vault: RightsVault;
  consent: RightsConsent;
  connectors: ConnectorFactory;
  queue: JobQueue;
  calendar: DeadlineCalendar;
  /** For webhooks (tests inject). Default: a fetch that connects only where webhooks may (egress.ts). */
  fetch?: typeof fetch;
}
