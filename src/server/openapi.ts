/**
 * The OpenAPI 3.1 description of the HTTP API, written by hand and served at `GET /openapi.json`.
 * Label lists come from the model contract (models/facemtl.json), so the document never drifts
 * from the model actually served.
 */
import { LANDMARK_NAMES } from '../detect/blazeface.js';
import type { ServerLimits } from './options.js';

export interface ContractLabels {
  gender: readonly string[];
  ethnicity: readonly string[];
  emotion: readonly string[];
}

const NUMBER = { type: 'number' };
const NON_NEGATIVE = { type: 'number', minimum: 0 };

/** An object schema whose every property is required. */
const requiredObject = (description: string, properties: Record<string, object>) => ({
  type: 'object',
  description,
  required: Object.keys(properties),
  properties,
});

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const probabilities = (labels: readonly string[], description: string) => ({
  type: 'object',
  description,
  required: ['label', 'probabilities'],
  properties: {
    label: { type: 'string', enum: [...labels], description: 'the most probable class' },
    probabilities: {
      type: 'object',
      description: 'probability of each class (they sum to 1)',
      properties: Object.fromEntries(
        labels.map((label) => [label, { type: 'number', minimum: 0, maximum: 1 }]),
      ),
    },
  },
});

export function openApiDocument(labels: ContractLabels, limits: ServerLimits, version: string): object {
  const point = requiredObject('a point in source pixels', { x: NUMBER, y: NUMBER });
  return {
    openapi: '3.1.0',
    info: {
      title: 'facemtl',
      version,
      description:
        'Face analysis (age, gender, ethnicity, emotion) with one small multi-task CNN. ' +
        'Images are analysed in memory and never stored or logged.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    paths: {
      '/v1/analyze': {
        post: {
          summary: 'Find the faces in an image and estimate their attributes',
          operationId: 'analyze',
          requestBody: {
            required: true,
            description:
              `The image, at most ${limits.maxBodyBytes} bytes and ${limits.maxPixels} pixels: either the raw ` +
              'bytes with their image content type, or multipart/form-data with one file field.',
            content: {
              'image/*': { schema: { type: 'string', format: 'binary' } },
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['image'],
                  properties: { image: { type: 'string', format: 'binary' } },
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'The faces found (possibly none)',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Analysis' } } },
            },
            '400': errorResponse('Empty or corrupt image, or no file in the form'),
            '413': errorResponse('Body or file larger than the byte limit'),
            '415': errorResponse('Not an image content type, or an image format that is not supported'),
            '422': errorResponse('Image larger than the pixel limit'),
            '503': {
              ...errorResponse(
                'Server busy: the queue is full or the image waited too long; see Retry-After',
              ),
              headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } },
            },
            '504': errorResponse('The analysis took longer than the request timeout'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness and readiness',
          operationId: 'health',
          responses: {
            '200': {
              description: 'The server is up and the models are loaded',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['status'],
                    properties: {
                      status: { type: 'string', enum: ['ok'] },
                      version: { type: 'string' },
                      active: { type: 'integer', description: 'analyses running' },
                      queued: { type: 'integer', description: 'analyses waiting' },
                    },
                  },
                },
              },
            },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          operationId: 'metrics',
          responses: {
            '200': {
              description: 'Prometheus text format 0.0.4',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          operationId: 'openapi',
          responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } },
        },
      },
    },
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: {
                  type: 'string',
                  description: 'machine-readable, e.g. payload_too_large, busy, timeout',
                },
                message: { type: 'string', description: 'one line for humans' },
              },
            },
          },
        },
        Analysis: {
          type: 'object',
          required: ['width', 'height', 'faces'],
          properties: {
            width: { type: 'integer', description: 'image width after EXIF orientation' },
            height: { type: 'integer' },
            faces: { type: 'array', items: { $ref: '#/components/schemas/Face' } },
          },
        },
        Face: {
          type: 'object',
          required: ['box', 'score', 'landmarks', 'age', 'gender', 'ethnicity', 'emotion'],
          properties: {
            box: requiredObject('face box in source pixels (after EXIF orientation)', {
              x: NUMBER,
              y: NUMBER,
              width: NUMBER,
              height: NUMBER,
            }),
            score: { type: 'number', minimum: 0, maximum: 1, description: 'detector confidence' },
            landmarks: {
              type: 'object',
              description: "BlazeFace keypoints in source pixels; right/left are the subject's",
              required: [...LANDMARK_NAMES],
              properties: Object.fromEntries(LANDMARK_NAMES.map((name) => [name, point])),
            },
            age: requiredObject(
              'Gaussian over the age in years: mean, std and the 90% interval [low, high]',
              {
                years: NUMBER,
                low: NON_NEGATIVE,
                high: NON_NEGATIVE,
                std: NON_NEGATIVE,
              },
            ),
            gender: {
              type: 'object',
              required: ['label', 'probability'],
              properties: {
                label: { type: 'string', enum: [...labels.gender] },
                probability: {
                  type: 'number',
                  minimum: 0,
                  maximum: 1,
                  description: 'probability of `label`',
                },
              },
            },
            ethnicity: probabilities(labels.ethnicity, 'ethnicity (UTKFace classes)'),
            emotion: probabilities(labels.emotion, 'emotion (FER+ classes)'),
          },
        },
      },
    },
  };
}
