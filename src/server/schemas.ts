/**
 * JSON schemas of the HTTP API, attached to the routes. Fastify serialises the responses with them
 * and `@fastify/swagger` builds `GET /openapi.json` from the same routes: one source of truth.
 * Label lists come from the model contract (models/facemtl.json), so the document never drifts
 * from the model actually served.
 */
import { LANDMARK_NAMES } from '../detect/blazeface.js';
import type { ServerLimits } from './options.js';

export interface ContractLabels {
  gender: readonly string[];
  ethnicity: readonly string[];
  emotion: readonly string[];
  /** Names of the yes/no attributes, when the model has an `attributes` output. */
  attributes?: readonly string[];
}

/** Every error status the server answers with, and when (the 405 route and the 404 handler included). */
export const ERROR_STATUSES = {
  400: 'Not a usable request: empty or undecodable image, a form without exactly one file, a malformed multipart body',
  404: 'No such route or file',
  405: 'Method not allowed on this route (see the Allow header)',
  408: 'The request (headers and body) did not arrive within the request timeout',
  413: 'Body or file larger than the byte limit',
  415: 'Not an image or multipart content type, or an image format that is not accepted',
  431: 'Request headers larger than Node’s limit (16 KiB)',
  422: 'Image larger than the pixel limit (read from its header, before decoding)',
  500: 'A bug on the server: the message is generic, details go to the log',
  503: 'Server busy (queue full, waited too long for a slot) or shutting down; see Retry-After',
  504: 'The analysis took longer than the request timeout',
} as const;

export type ErrorStatus = keyof typeof ERROR_STATUSES;

const NUMBER = { type: 'number' };
const NON_NEGATIVE = { type: 'number', minimum: 0 };
const PROBABILITY = { type: 'number', minimum: 0, maximum: 1 };

/** An object schema whose every property is required. */
const requiredObject = (description: string, properties: Record<string, object>) => ({
  type: 'object',
  description,
  required: Object.keys(properties),
  properties,
});

const labelled = (labels: readonly string[], description: string) =>
  requiredObject(description, {
    label: { type: 'string', enum: [...labels], description: 'the most probable class' },
    probabilities: requiredObject(
      'probability of each class, in the contract order (they sum to 1)',
      Object.fromEntries(labels.map((label) => [label, PROBABILITY])),
    ),
  });

function binaryAttributes(names: readonly string[] | undefined): object {
  const attribute = requiredObject('one yes/no attribute', {
    probability: PROBABILITY,
    present: { type: 'boolean', description: "probability ≥ the contract's threshold for it" },
  });
  return {
    type: 'object',
    description:
      'yes/no attributes by name (smile, eyeglasses, …); only with models that have an `attributes` output',
    ...(names ? { properties: Object.fromEntries(names.map((name) => [name, attribute])) } : {}),
    additionalProperties: attribute,
  };
}

/**
 * The shared schemas (`$id` = the name under `components.schemas`): the analysis result, one face,
 * the error body and the health answer.
 */
export function sharedSchemas(labels: ContractLabels): object[] {
  const point = requiredObject('a point in source pixels', { x: NUMBER, y: NUMBER });
  const face = {
    $id: 'Face',
    type: 'object',
    description: 'one face: the library’s `Face` JSON (src/pipeline/index.ts)',
    required: ['box', 'score', 'landmarks', 'age', 'gender', 'ethnicity', 'emotion'],
    properties: {
      box: requiredObject('face box in source pixels (after EXIF orientation)', {
        x: NUMBER,
        y: NUMBER,
        width: NUMBER,
        height: NUMBER,
      }),
      score: { ...PROBABILITY, description: 'detector confidence' },
      landmarks: requiredObject(
        "BlazeFace keypoints in source pixels; right/left are the subject's",
        Object.fromEntries(LANDMARK_NAMES.map((name) => [name, point])),
      ),
      age: requiredObject('Gaussian over the age in years: mean, std and the 90% interval [low, high]', {
        years: NUMBER,
        low: NON_NEGATIVE,
        high: NON_NEGATIVE,
        std: NON_NEGATIVE,
      }),
      gender: requiredObject('gender', {
        label: { type: 'string', enum: [...labels.gender] },
        probability: { ...PROBABILITY, description: 'probability of `label`' },
      }),
      ethnicity: labelled(labels.ethnicity, 'ethnicity (UTKFace classes)'),
      emotion: labelled(labels.emotion, 'emotion (FER+ classes)'),
      attributes: binaryAttributes(labels.attributes),
    },
  };
  return [
    {
      $id: 'Analysis',
      type: 'object',
      description: 'the faces found in one image (possibly none)',
      required: ['width', 'height', 'faces'],
      properties: {
        width: { type: 'integer', description: 'image width after EXIF orientation' },
        height: { type: 'integer' },
        faces: { type: 'array', items: { $ref: 'Face#' } },
      },
    },
    face,
    {
      $id: 'Error',
      type: 'object',
      description: 'every error answer',
      required: ['error'],
      properties: {
        error: requiredObject('what went wrong', {
          code: {
            type: 'string',
            description: 'machine-readable, e.g. payload_too_large, busy, timeout (docs/server.md)',
          },
          message: { type: 'string', description: 'one line for humans' },
        }),
      },
    },
    {
      $id: 'Health',
      type: 'object',
      required: ['status', 'version', 'active', 'queued', 'uploading'],
      properties: {
        status: { type: 'string', enum: ['ok'] },
        version: { type: 'string' },
        active: { type: 'integer', description: 'analyses running (including ones past their deadline)' },
        queued: { type: 'integer', description: 'analyses waiting for a slot' },
        uploading: { type: 'integer', description: 'admitted requests whose body is still arriving' },
      },
    },
  ];
}

const RETRY_AFTER = {
  'Retry-After': { type: 'integer', description: 'seconds until a slot is expected to be free' },
};
const ALLOW = { Allow: { type: 'string', description: 'the methods the route takes' } };

/** Response schemas for these error statuses, all with the `Error` body. */
export function errorResponses(...statuses: ErrorStatus[]): Record<number, object> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: ERROR_STATUSES[status],
        $ref: 'Error#',
        ...(status === 503 ? { headers: RETRY_AFTER } : status === 405 ? { headers: ALLOW } : {}),
      },
    ]),
  );
}

/** Statuses any route can answer: malformed or slow requests, bugs, shutdown. */
const ANY_ROUTE: ErrorStatus[] = [400, 408, 431, 500, 503];

export const analyzeRouteSchema = {
  summary: 'Find the faces in an image and estimate their attributes',
  operationId: 'analyze',
  response: {
    200: { description: 'The faces found (possibly none)', $ref: 'Analysis#' },
    ...errorResponses(...ANY_ROUTE, 413, 415, 422, 504),
  },
};

/**
 * The request body, for the document only: Fastify's body validation works on parsed JSON, and
 * this body is image bytes (checked by the byte limit and the decoder instead).
 */
export function analyzeRequestBody(limits: ServerLimits): object {
  const binary = { type: 'string', contentMediaType: 'application/octet-stream' };
  return {
    description:
      `The image, at most ${limits.maxBodyBytes} bytes and ${limits.maxPixels} pixels: the raw bytes with ` +
      'an image/* (or application/octet-stream) content type, or multipart/form-data with exactly one file ' +
      'field (any name; text fields are ignored). Raster formats only (JPEG, PNG, WebP, GIF, TIFF, AVIF).',
    content: {
      'image/*': { schema: binary },
      'application/octet-stream': { schema: binary },
      'multipart/form-data': {
        schema: { type: 'object', required: ['image'], properties: { image: binary } },
      },
    },
  };
}

export const notAllowedRouteSchema = {
  summary: 'Any other method than POST: 405',
  response: errorResponses(405, ...ANY_ROUTE),
};

export const healthRouteSchema = {
  summary: 'Liveness and readiness',
  operationId: 'health',
  response: {
    200: { description: 'The server is up and the models are loaded', $ref: 'Health#' },
    ...errorResponses(...ANY_ROUTE),
  },
};

/** A 200 answer that is not (or not always) JSON: any body of these media types. */
const fileResponse = (description: string, mediaTypes: string[]) => ({
  description,
  content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: { description } }])),
});

export const metricsRouteSchema = {
  summary: 'Prometheus metrics (prom-client): requests, latency, faces, errors, queue, process',
  operationId: 'metrics',
  response: {
    200: fileResponse('Prometheus text format 0.0.4', ['text/plain']),
    ...errorResponses(...ANY_ROUTE),
  },
};

export const openApiRouteSchema = {
  summary: 'This document',
  operationId: 'openapi',
  response: {
    200: { description: 'OpenAPI 3.1 document', type: 'object', additionalProperties: true },
    ...errorResponses(...ANY_ROUTE),
  },
};

/** The static files (demo, models): @fastify/static's routes, described for the document. */
export const staticFilesSchema = (summary: string) => ({
  summary,
  response: {
    200: fileResponse('the file', [
      'application/octet-stream',
      'application/json',
      'text/html',
      'text/plain',
    ]),
    ...errorResponses(404, ...ANY_ROUTE),
  },
});
