/**
 * @vladmandic/face-api 1.7.15 on TensorFlow.js WASM: `age_gender_model` (age regression + gender)
 * and `face_expression_model` (7 expressions).
 *
 * Crop mode calls the nets' public per-face APIs (`predictAgeAndGender`, `predictExpressions`)
 * with the dataset image as a [h, w, 3] tensor: they pad to a square, resize to 112 and normalise
 * exactly as the library does for a face its detector cut out. Detector mode runs the documented
 * pipeline `detectSingleFace(ssdMobilenetv1).withFaceLandmarks().withFaceExpressions().withAgeAndGender()`.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileBytes, initTfjs, require, rgbTensor3d, tf } from './tfjs.mjs';

const packageDir = path.dirname(
  path.dirname(require.resolve('@vladmandic/face-api/dist/face-api.node-wasm.js')),
);
const modelDir = path.join(packageDir, 'model');
const modelFiles = (names) =>
  names.flatMap((name) =>
    [`${name}-weights_manifest.json`, `${name}.bin`].map((f) => path.join(modelDir, f)),
  );

/** A FaceExpressions result as probabilities over its own labels (src/faceExpressionNet/FaceExpressions.ts). */
function expressionProbs(faceapi, expressions) {
  const labels = [...faceapi.FACE_EXPRESSION_LABELS];
  return { labels, probs: labels.map((label) => expressions[label]) };
}

function genderProbs({ gender, genderProbability }) {
  const male = gender === 'male' ? genderProbability : 1 - genderProbability;
  return { labels: ['male', 'female'], probs: [male, 1 - male] };
}

export async function create() {
  await initTfjs();
  const faceapi = require(path.join(packageDir, 'dist', 'face-api.node-wasm.js'));
  const { ageGenderNet, faceExpressionNet, ssdMobilenetv1, faceLandmark68Net } = faceapi.nets;
  for (const net of [ageGenderNet, faceExpressionNet, ssdMobilenetv1, faceLandmark68Net])
    await net.loadFromDisk(modelDir);

  return {
    name: 'face-api',
    version: faceapi.version,
    models: [
      {
        id: 'face-api age_gender',
        tasks: ['age', 'gender'],
        bytes: fileBytes(modelFiles(['age_gender_model'])),
      },
      {
        id: 'face-api face_expression',
        tasks: ['fer2013', 'ferplus'],
        bytes: fileBytes(modelFiles(['face_expression_model'])),
      },
    ],
    async predict(image, tasks) {
      const out = { ms: {} };
      if (tasks.includes('age') || tasks.includes('gender')) {
        const start = performance.now();
        const input = rgbTensor3d(image);
        const result = await ageGenderNet.predictAgeAndGender(input);
        tf.dispose(input);
        out.ms['face-api age_gender'] = performance.now() - start;
        out.age = result.age;
        out.gender = genderProbs(result);
      }
      if (tasks.includes('fer2013') || tasks.includes('ferplus')) {
        const start = performance.now();
        const input = rgbTensor3d(image);
        const expressions = await faceExpressionNet.predictExpressions(input);
        tf.dispose(input);
        out.ms['face-api face_expression'] = performance.now() - start;
        out.fer2013 = out.ferplus = expressionProbs(faceapi, expressions);
      }
      return out;
    },
    detector: {
      id: 'ssd_mobilenetv1 → landmark68 → age_gender, face_expression',
      bytes: fileBytes(
        modelFiles([
          'ssd_mobilenetv1_model',
          'face_landmark_68_model',
          'age_gender_model',
          'face_expression_model',
        ]),
      ),
      async detect(image) {
        const input = rgbTensor3d(image);
        const start = performance.now();
        const face = await faceapi
          .detectSingleFace(input, new faceapi.SsdMobilenetv1Options())
          .withFaceLandmarks()
          .withFaceExpressions()
          .withAgeAndGender();
        const ms = performance.now() - start;
        tf.dispose(input);
        if (!face) return null;
        const emotion = expressionProbs(faceapi, face.expressions);
        return {
          ms: { pipeline: ms },
          age: face.age,
          gender: genderProbs(face),
          fer2013: emotion,
          ferplus: emotion,
        };
      },
    },
  };
}
