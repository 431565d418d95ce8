/**
 * The HTTP server with the real models: a photo in, the library's JSON out (identical to calling
 * FaceAnalyzer directly), and real bad images turned into 4xx errors by the real image loader.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalyzer } from '../src/pipeline/index.js';
import { IMAGE_ERRORS } from '../src/server/errors.js';
import { startServer, type RunningServer } from '../src/server/index.js';
import { hostileImages, SVG_FILTER_BOMB } from './hostile/corpus.js';
import { checkedFetch } from './fixtures/openapi.js';
import { pngHeaderOnly } from './fixtures/png.js';

/** Every response is checked against the server's own /openapi.json (real results included). */
const fetch = checkedFetch();

const sample = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const contract = JSON.parse(readFileSync('models/facemtl.json', 'utf8')) as {
  outputs: Record<string, { labels: string[] }>;
};

describe('facemtl serve with the real models', () => {
  let server: RunningServer;
  let analyzer: FaceAnalyzer;

  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create();
    server = await startServer({ port: 0, webRoot: null, maxPixels: 40_000_000 });
  });
  afterAll(async () => {
    await server?.close();
    await analyzer?.dispose();
  });

  const post = (body: Uint8Array | string, type = 'image/jpeg') =>
    fetch(`${server.url}/v1/analyze`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: body as BodyInit,
    });

  it('returns the library JSON for a photo, raw or multipart', async () => {
    const response = await post(sample);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Awaited<ReturnType<FaceAnalyzer['analyze']>>;
    expect(body.faces.length).toBeGreaterThanOrEqual(1);
    expect(body).toEqual(JSON.parse(JSON.stringify(await analyzer.analyze(sample))));

    // The OpenAPI document describes what is really returned.
    type Schema = { required: string[]; properties: Record<string, Schema> };
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      components: { schemas: { Analysis: Schema; Face: Schema } };
    };
    const { Analysis, Face } = openapi.components.schemas;
    expect(Object.keys(body).sort()).toEqual([...Analysis.required].sort());
    for (const face of body.faces) {
      const record = face as unknown as Record<string, Record<string, unknown>>;
      // Every required key, and nothing the document does not describe (`attributes` is optional).
      expect(Object.keys(face)).toEqual(expect.arrayContaining(Face.required));
      expect(Object.keys(Face.properties)).toEqual(expect.arrayContaining(Object.keys(face)));
      for (const field of ['box', 'landmarks', 'age', 'gender', 'ethnicity', 'emotion']) {
        expect(Object.keys(record[field]).sort(), field).toEqual([...Face.properties[field].required].sort());
      }
      const binary = contract.outputs.attributes;
      if (binary) {
        // A model with yes/no attributes returns each of them, as documented.
        expect(Object.keys(record.attributes)).toEqual(binary.labels);
        expect(Object.keys(Face.properties.attributes.properties)).toEqual(binary.labels);
      }
    }

    for (const face of body.faces) {
      expect(contract.outputs.gender.labels).toContain(face.gender.label);
      expect(Object.keys(face.ethnicity.probabilities)).toEqual(contract.outputs.ethnicity.labels);
      expect(Object.keys(face.emotion.probabilities)).toEqual(contract.outputs.emotion.labels);
      expect(face.box.width).toBeGreaterThan(0);
    }

    const form = new FormData();
    form.append('image', new Blob([sample], { type: 'image/jpeg' }), 'sample1.jpg');
    const multipart = await fetch(`${server.url}/v1/analyze`, { method: 'POST', body: form });
    expect(multipart.status).toBe(200);
    expect(await multipart.json()).toEqual(body);
  });

  it('returns no faces for an image without any', async () => {
    const grey = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const response = await post(grey, 'image/png');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ width: 320, height: 240, faces: [] });
  });

  it('answers 4xx for bytes that are not a usable image, and keeps serving', async () => {
    const notImage = await post('this is plain text, not an image', 'image/png');
    expect(notImage.status).toBe(415);
    expect(((await notImage.json()) as { error: { code: string } }).error.code).toBe('unsupported_image');

    const truncated = await post(sample.subarray(0, 2000));
    expect(truncated.status).toBe(400);
    expect(((await truncated.json()) as { error: { code: string } }).error.code).toBe('corrupt_image');

    // 50 000 × 50 000 announced in the header: refused from the header, never decoded.
    const huge = await post(pngHeaderOnly(50_000, 50_000), 'image/png');
    expect(huge.status).toBe(422);
    const hugeBody = (await huge.json()) as { error: { code: string; message: string } };
    expect(hugeBody.error.code).toBe('too_many_pixels');

    expect((await post(sample)).status).toBe(200);
  });

  it('answers every case of the hostile corpus with its documented status and a one-line reason', async () => {
    const outcomes: string[] = [];
    for (const image of await hostileImages()) {
      // The content type lies as often as the name does: the format is sniffed from the bytes.
      const response = await post(image.bytes, 'image/jpeg');
      const body = (await response.json()) as {
        width?: number;
        height?: number;
        error?: { message: string };
      };
      if ('ok' in image.expect) {
        expect(response.status, image.name).toBe(200);
        expect({ width: body.width, height: body.height }, image.name).toEqual(image.expect.ok);
      } else {
        expect(response.status, image.name).toBe(IMAGE_ERRORS[image.expect.error].status);
        expect(body.error!.message, image.name).not.toMatch(
          /vips|glib|lib(png|jpeg|spng|rsvg|heif|tiff)|\bsharp\b|\n/i,
        );
      }
      outcomes.push(`${image.name} ${response.status}`);
    }
    expect(outcomes.length).toBeGreaterThan(20);
    // The same connection still serves a good photo.
    expect((await post(sample)).status).toBe(200);
  });

  it('refuses the SVG filter bomb of issue 11 at once, raw or as a .jpg upload, and keeps its slots free', async () => {
    const bombs = await Promise.all([
      post(SVG_FILTER_BOMB, 'image/jpeg'),
      post(SVG_FILTER_BOMB, 'image/svg+xml'),
      (() => {
        const form = new FormData();
        form.append('image', new Blob([SVG_FILTER_BOMB], { type: 'image/jpeg' }), 'a.jpg');
        return fetch(`${server.url}/v1/analyze`, { method: 'POST', body: form });
      })(),
    ]);
    for (const response of bombs) {
      expect(response.status).toBe(415);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unsupported_image');
    }
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as {
      active: number;
      queued: number;
    };
    expect(health).toMatchObject({ active: 0, queued: 0 });
    expect((await post(sample)).status).toBe(200);
  });

  it('applies its own pixel limit', async () => {
    const small = await startServer({ port: 0, webRoot: null, maxPixels: 1_000_000 });
    try {
      const response = await fetch(`${small.url}/v1/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: sample, // 1920 × 1280
      });
      expect(response.status).toBe(422);
    } finally {
      await small.close();
    }
  });
});
