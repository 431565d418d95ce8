/** Explanations: occlusion-sensitivity maps per head, and pictures of them. */
export {
  occlusionMaps,
  squarePositions,
  DEFAULT_OCCLUSION,
  EXPLAINED_HEADS,
  type FaceExplanation,
  type HeadMap,
  type OcclusionOptions,
  type RawModel,
} from './occlusion.js';
export { explanationPng, heatColour, type PanelOptions } from './render.js';
