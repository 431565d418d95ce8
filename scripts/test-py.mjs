#!/usr/bin/env node
/**
 * `npm run test:py`: the training suite (pytest) through training/python. Where no Python has the
 * packages it needs, it is skipped with one line, so `npm test` passes on a fresh machine; CI
 * (.ci/run, FACEMTL_REQUIRE_TOOLS=1) installs them and a missing one fails the run instead.
 */
import { spawnSync } from 'node:child_process';

const PACKAGES = 'python3-torch python3-numpy python3-pil python3-onnx python3-matplotlib python3-pytest';
const probe = spawnSync('training/python', ['-c', 'import torch, numpy, PIL, onnx, matplotlib, pytest'], {
  stdio: 'ignore',
});
if (probe.status !== 0) {
  const reason = `training tests skipped: no Python with torch, numpy, PIL, onnx, matplotlib and pytest (install them: apt-get install -y ${PACKAGES})`;
  if (process.env.FACEMTL_REQUIRE_TOOLS === '1') {
    console.error(`${reason}; FACEMTL_REQUIRE_TOOLS=1 (CI) requires them`);
    process.exit(1);
  }
  console.warn(reason);
  process.exit(0);
}
const run = spawnSync('training/python', ['-m', 'pytest', '-q', 'tests'], { stdio: 'inherit' });
process.exit(run.status ?? 1);
