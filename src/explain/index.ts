/** Explanations: occlusion-sensitivity maps per head, and pictures of them. */
export {
  occlusionMaps,
  regionShares,
  squarePositions,
  DEFAULT_OCCLUSION,
  EXPLAINED_HEADS,
  FACE_REGIONS,
  type FaceRegion,
  type FaceExplanation,
  type HeadMap,
  type OcclusionOptions,
  type RawModel,
} from './occlusion.js';
export { explanationPng, heatColour, type PanelOptions } from './render.js';
