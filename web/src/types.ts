/** The analysis result: the very types of the Node runtime (the browser builds the same JSON). */
export type { Analysis, Face } from '../../src/pipeline/index.js';
