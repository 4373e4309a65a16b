import type { Scenario } from '../lib.js';
import { auditScenario } from './audit.js';
import { cryptoScenario } from './crypto.js';
import { decisionsScenario } from './decisions.js';
import { detectScenario } from './detect.js';
import { policyScenario } from './policy.js';
import { renderScenario } from './render.js';
import { rightsScenario } from './rights.js';
import { serviceScenario } from './service.js';
import { vaultScenario } from './vault.js';

/** Add each scenario module here. */
export const scenarios: Scenario[] = [
  cryptoScenario,
  decisionsScenario,
  renderScenario,
  detectScenario,
  policyScenario,
  auditScenario,
  rightsScenario,
  vaultScenario,
  serviceScenario,
];
