// Runs an ONNX model with onnxruntime-node on a raw float32 input, for the Python side's parity
// checks (Debian has no onnxruntime for Python). Usage:
//   node ort_run.mjs MODEL.onnx INPUT.f32 N C H W OUT.json [--optimized OPT.onnx]
// Writes {outputName: {dims, data}} as JSON; with --optimized also saves the graph ORT executes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../package.json', import.meta.url));
const ort = require('onnxruntime-node');

const [model, inputFile, n, c, h, w, outFile, flag, optimized] = process.argv.slice(2);
const options = { graphOptimizationLevel: 'all', intraOpNumThreads: 1 };
if (flag === '--optimized') options.optimizedModelFilePath = optimized;
const session = await ort.InferenceSession.create(model, options);
const bytes = readFileSync(inputFile);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const dims = [n, c, h, w].map(Number);
const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
const out = {};
for (const [name, tensor] of Object.entries(result)) out[name] = { dims: tensor.dims, data: Array.from(tensor.data) };
writeFileSync(outFile, JSON.stringify(out));
