export { diffDeclarations } from './diff.js';
export { compareDurations, type DurationParts, parseDuration } from './duration.js';
export { type DiffJson, type DiffTextOptions, diffToJson, formatDiffText } from './format.js';
export { CHANGE_KINDS, type ChangeKind, type DeclarationChange, type DeclarationDiff } from './types.js';
