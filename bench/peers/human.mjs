/**
 * @vladmandic/human 3.3.6 on TensorFlow.js WASM. The npm package ships two face-attribute models:
 * `faceres` (HSE-FaceRes: age, gender, descriptor) and `emotion` (Arriaga's mini-Xception, FER2013's
 * 7 classes). GEAR and SSR-Net (age/gender/race) are not in the package, so they are not measured.
 *
 * Crop mode feeds the dataset image as the face tensor human's detector would hand over (RGB,
 * 0..1, [1, h, w, 3]) and repeats human's own preprocessing (src/gear/emotion.ts,
 * src/face/faceres.ts) on its loaded models. Detector mode runs `human.detect` on the same image.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileBytes, initTfjs, require, rgbTensor3d, tf, wasmDir } from './tfjs.mjs';

const packageDir = path.dirname(path.dirname(require.resolve('@vladmandic/human')));
const modelsDir = path.join(packageDir, 'models');
// src/gear/emotion.ts: the label order of the grayscale (Arriaga) model = FER2013's own order
const EMOTION_LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
// src/tfjs/constants.ts: rgb2gray weights
const GRAY_WEIGHTS = [0.2989, 0.587, 0.114];

const modelFiles = (names) =>
  names.flatMap((name) => [`${name}.json`, `${name}.bin`].map((f) => path.join(modelsDir, f)));

/** Age and P(male) from faceres outputs, decoded exactly as src/face/faceres.ts does. */
function decodeFaceres(outputs) {
  const gender = outputs.find((t) => t.shape[1] === 1).dataSync();
  const ages = outputs.find((t) => t.shape[1] === 100).dataSync();
  let best = 0;
  for (let i = 1; i < ages.length; i++) if (ages[i] > ages[best]) best = i;
  const age =
    Math.round(
      ages[best - 1] > ages[best + 1] ? 10 * best - 100 * ages[best - 1] : 10 * best + 100 * ages[best + 1],
    ) / 10;
  return { age, male: gender[0] };
}

export async function create() {
  await initTfjs();
  const { Human } = require(path.join(packageDir, 'dist', 'human.node-wasm.js'));
  const human = new Human({
    backend: 'wasm',
    wasmPath: wasmDir,
    modelBasePath: `file://${modelsDir}/`,
    async: false,
    warmup: 'none',
    // every benchmark image is a new face: no result caching between frames
    cacheSensitivity: 0,
    skipAllowed: false,
    face: {
      detector: { maxDetected: 1 },
      // report the full distribution; the defaults (0.1) would drop low scores and unsure genders
      emotion: { minConfidence: 0 },
      description: { minConfidence: 0 },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
  });
  await human.load();
  const { emotion, faceres } = human.models.models;
  if (!emotion || !faceres) throw new Error('human: emotion or faceres model did not load');

  /** The face tensor human's detector hands to the attribute models: RGB in 0..1, [1, h, w, 3]. */
  const faceTensor = (image) =>
    tf.tidy(() => tf.expandDims(tf.div(tf.cast(rgbTensor3d(image), 'float32'), 255), 0));

  function runEmotion(image) {
    return tf.tidy(() => {
      const size = emotion.inputs[0].shape[2];
      const resized = tf.image.resizeBilinear(faceTensor(image), [size, size], false);
      const gray = tf.sum(tf.mul(resized, GRAY_WEIGHTS), 3, true);
      return Array.from(emotion.execute(tf.mul(tf.sub(gray, 0.5), 2)).dataSync());
    });
  }

  function runFaceres(image) {
    return tf.tidy(() => {
      const [, height, width] = faceres.inputs[0].shape;
      const resized = tf.image.resizeBilinear(faceTensor(image), [width, height], false);
      return decodeFaceres(faceres.execute(tf.mul(resized, 255)));
    });
  }

  return {
    name: 'human',
    /** The Human instance itself (check-human.mjs compares the replica above with it). */
    library: human,
    version: human.version,
    models: [
      { id: 'human faceres', tasks: ['age', 'gender'], bytes: fileBytes(modelFiles(['faceres'])) },
      { id: 'human emotion', tasks: ['fer2013', 'ferplus'], bytes: fileBytes(modelFiles(['emotion'])) },
    ],
    predict(image, tasks) {
      const out = { ms: {} };
      if (tasks.includes('age') || tasks.includes('gender')) {
        const start = performance.now();
        const { age, male } = runFaceres(image);
        out.ms['human faceres'] = performance.now() - start;
        out.age = age;
        out.gender = { labels: ['male', 'female'], probs: [male, 1 - male] };
      }
      if (tasks.includes('fer2013') || tasks.includes('ferplus')) {
        const start = performance.now();
        const probs = runEmotion(image);
        out.ms['human emotion'] = performance.now() - start;
        out.fer2013 = out.ferplus = { labels: EMOTION_LABELS, probs };
      }
      return out;
    },
    detector: {
      id: 'blazeface → facemesh + iris → faceres, emotion',
      bytes: fileBytes(modelFiles(['blazeface', 'facemesh', 'iris', 'faceres', 'emotion'])),
      /** The library's own pipeline on the whole image; null when it finds no face. */
      async detect(image) {
        const input = tf.tidy(() => tf.expandDims(rgbTensor3d(image), 0));
        const start = performance.now();
        const result = await human.detect(input);
        const ms = performance.now() - start;
        tf.dispose(input);
        const face = result.face[0];
        if (!face) return null;
        const probs = EMOTION_LABELS.map(
          (label) => face.emotion?.find((e) => e.emotion === label)?.score ?? 0,
        );
        // genderScore is 2·|P(male) − 0.5| (src/face/faceres.ts), not a probability
        const sign = face.gender === 'male' ? 1 : face.gender === 'female' ? -1 : 0;
        const male = 0.5 + (sign * face.genderScore) / 2;
        return {
          ms: { pipeline: ms },
          // human leaves `age` out when faceres says 0 (src/face/face.ts)
          age: face.age ?? 0,
          gender: { labels: ['male', 'female'], probs: [male, 1 - male] },
          fer2013: { labels: EMOTION_LABELS, probs },
          ferplus: { labels: EMOTION_LABELS, probs },
        };
      },
    },
  };
}
