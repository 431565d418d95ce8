/**
 * facemtl through its library API: `datasetCrop` (the model contract's crop of a dataset image from
 * the dataset's virtual eyes) and `AttributeModel.runRaw` on onnxruntime-node. Output names and
 * label orders come from the model's contract (models/facemtl.json), never from this file.
 * With a built `FaceAnalyzer` (src/pipeline), detector mode runs facemtl's own pipeline too.
 *
 * `createWasm` runs the same model file on onnxruntime-web's single-threaded WASM backend in Node,
 * the runtime of the browser demo and the same kind of runtime as the peers' TensorFlow.js WASM.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromDist, repoRoot } from './dist.mjs';

const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;

/** Which model file a row came from: path, sha256 prefix and date, so a report can be traced. */
function describeFile(file, runtime) {
  const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 12);
  const date = fs.statSync(file).mtime.toISOString().slice(0, 16).replace('T', ' ');
  return `${path.relative(repoRoot, file)} (sha256 ${sha}…, modified ${date} UTC) on ${runtime}`;
}

/** Raw outputs of one face → the benchmark's prediction, labels from the contract. */
function toPrediction(raw, contract) {
  const probabilities = (name) =>
    raw[name] && contract.outputs[name]
      ? { labels: contract.outputs[name].labels, probs: raw[name] }
      : undefined;
  return {
    age: raw.age[0],
    gender: probabilities('gender'),
    ethnicity: probabilities('ethnicity'),
    fer2013: probabilities('emotion_fer2013'),
    ferplus: probabilities('emotion'),
  };
}

export async function create({ model: modelPath, threads }) {
  const { AttributeModel } = await fromDist('attributes/model.js');
  const { datasetCrop } = await fromDist('attributes/crop.js');
  const model = await AttributeModel.create({ modelPath, threads });
  const contract = model.contract;
  const id = `facemtl ${path.basename(model.modelPath)}`;
  const threadNote = threads ? `${threads} thread${threads > 1 ? 's' : ''}` : 'all cores';

  let detector;
  if (fs.existsSync(path.join(repoRoot, 'dist/pipeline/index.js'))) {
    const { FaceAnalyzer } = await fromDist('pipeline/index.js');
    const analyzer = await FaceAnalyzer.create({ modelPath: model.modelPath, threads });
    detector = {
      id: 'FaceAnalyzer: detect → align → attributes',
      bytes: null,
      async detect(image) {
        const start = performance.now();
        const result = await analyzer.analyze(image);
        const ms = performance.now() - start;
        const area = (face) => face.box.width * face.box.height;
        const largest = [...result.faces].sort((a, b) => area(b) - area(a))[0];
        return largest ? { ms: { pipeline: ms }, ...toPrediction(largest.raw, contract) } : null;
      },
    };
  }

  return {
    name: 'facemtl',
    version,
    notes: [describeFile(model.modelPath, `onnxruntime-node, ${threadNote}`)],
    models: [
      {
        id,
        tasks: ['age', 'gender', 'ethnicity', 'fer2013', 'ferplus'],
        bytes: fs.statSync(model.modelPath).size,
      },
    ],
    /** One forward pass gives every head: the time is that of all tasks together. */
    async predict(image, tasks, dataset) {
      const start = performance.now();
      const [raw] = await model.runRaw([datasetCrop(image, dataset, contract)]);
      return { ms: { [id]: performance.now() - start }, ...toPrediction(raw, contract) };
    },
    detector,
  };
}

export async function createWasm({ model: modelPath, threads, precision = 'int8' }) {
  const ort = await import('onnxruntime-web');
  const { loadContract, MODELS_DIR } = await fromDist('attributes/contract.js');
  const { datasetCrop } = await fromDist('attributes/crop.js');
  const { splitBatch } = await fromDist('attributes/decode.js');
  const contract = loadContract();
  const file =
    precision === 'int8' && modelPath ? modelPath : path.join(MODELS_DIR, contract.files[precision]);
  // without cross-origin isolation a browser gets 1 thread too; the peers' WASM is single-threaded
  ort.env.wasm.numThreads = threads ?? 1;
  const session = await ort.InferenceSession.create(fs.readFileSync(file), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const id = `facemtl ${path.basename(file)} (WASM)`;
  const size = contract.input.size;
  return {
    name: precision === 'int8' ? 'facemtl-wasm' : `facemtl-wasm-${precision}`,
    version: `${version}, onnxruntime-web ${ort.env.versions?.web ?? ''}`.trim(),
    notes: [describeFile(file, `onnxruntime-web WASM in Node, ${ort.env.wasm.numThreads} thread(s)`)],
    models: [
      { id, tasks: ['age', 'gender', 'ethnicity', 'fer2013', 'ferplus'], bytes: fs.statSync(file).size },
    ],
    async predict(image, tasks, dataset) {
      const start = performance.now();
      const input = new ort.Tensor('float32', datasetCrop(image, dataset, contract), [1, 3, size, size]);
      const outputs = await session.run({ [contract.input.name]: input });
      const [raw] = splitBatch(outputs, 1);
      return { ms: { [id]: performance.now() - start }, ...toPrediction(raw, contract) };
    },
  };
}
