import { DETECTOR_CATEGORIES, DETECTOR_TYPES } from '@pipa/detect';
import { isTaxonomyId } from '@pipa/policy';
import { describe, expect, it } from 'vitest';

describe('@pipa/detect categories', () => {
  it('every detector maps to a category of the @pipa/policy taxonomy', () => {
    const missing = DETECTOR_TYPES.filter((t) => !isTaxonomyId(DETECTOR_CATEGORIES[t])).map((t) => `${t} -> ${DETECTOR_CATEGORIES[t]}`);
    expect(missing).toEqual([]);
  });
});
