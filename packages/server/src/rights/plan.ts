/**
 * The execution plan of a verified request: one task per target (pipa's vault, each declared dataset,
 * each recipient to notify), with the order the data needs:
 *
 * - access / copy / portability: collect from every target, then build the package;
 * - deletion / account cancellation: (collect and package first when the person asked for a copy),
 *   erase every dataset, then the vault (it holds the phone number and e-mail the datasets are found
 *   by, so it goes last), then notify the recipients (cancellation);
 * - correction: the datasets first (they may be found by the very phone number being corrected), then
 *   the vault;
 * - consent withdrawal: the ledger; explanation: the package (processing rules, no data);
 *   restriction: nothing left to run (the subject was frozen when the request was verified).
 *
 * Every plan ends with `finish`, which closes the request; it runs after every other task succeeded.
 * Pure: no I/O.
 */
import type { DatasetDecl, Declaration } from '@pipa/policy';
import type { RequestPayload, RequestType, TaskKind } from './types.js';

export interface TaskSpec {
  /** Unique within the plan: `<kind>:<target>`. */
  key: string;
  kind: TaskKind;
  /** `vault`, `dataset:<id>`, `recipient:<id>`, `ledger`, `request`. */
  target: string;
  /** Keys of the tasks this one runs after. */
  after: string[];
}

/** The datasets a connector serves (a dataset of engine `vault` is pipa's own vault, already a target). */
export function connectorDatasets(declaration: Declaration): DatasetDecl[] {
  return (declaration.datasets ?? []).filter((d) => d.engine !== 'vault');
}

/** Datasets where a correction of these categories can be written (a writable column holds one of them). */
export function correctableDatasets(declaration: Declaration, categories: readonly string[]): DatasetDecl[] {
  const wanted = new Set(categories);
  return connectorDatasets(declaration).filter((d) =>
    (d.tables ?? []).some((t) => (t.writable ?? []).some((column) => wanted.has(t.fields[column] ?? ''))),
  );
}

export interface PlanInput {
  type: RequestType;
  payload: RequestPayload;
  declaration: Declaration;
  /** Recipients to notify of an erasure (cancellation). */
  recipients: readonly string[];
}

export function buildPlan(input: PlanInput): TaskSpec[] {
  const { type, payload, declaration } = input;
  const datasets = connectorDatasets(declaration);
  const tasks: TaskSpec[] = [];
  const add = (kind: TaskKind, target: string, after: string[] = []): string => {
    const key = `${kind}:${target}`;
    tasks.push({ key, kind, target, after });
    return key;
  };
  const collectAndPackage = (): string => {
    const collects = [add('collect', 'vault'), ...datasets.map((d) => add('collect', `dataset:${d.id}`))];
    return add('package', 'request', collects);
  };

  switch (type) {
    case 'access':
    case 'copy':
    case 'portability':
      collectAndPackage();
      break;
    case 'explanation':
      add('package', 'request');
      break;
    case 'deletion':
    case 'account_cancellation': {
      const first = payload.exportFirst === true ? [collectAndPackage()] : [];
      const erasures = datasets.map((d) => add('erase', `dataset:${d.id}`, first));
      const vault = add('erase', 'vault', [...first, ...erasures]);
      if (type === 'account_cancellation') for (const r of input.recipients) add('notify', `recipient:${r}`, [vault]);
      break;
    }
    case 'correction': {
      const corrected = payload.corrections ?? [];
      const dataset = correctableDatasets(declaration, corrected).map((d) => add('correct', `dataset:${d.id}`));
      add('correct', 'vault', dataset);
      break;
    }
    case 'consent_withdrawal':
      add('withdraw', 'ledger');
      break;
    case 'restriction':
      break;
  }
  add(
    'finish',
    'request',
    tasks.map((t) => t.key),
  );
  return tasks;
}
