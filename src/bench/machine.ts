/** A description of the machine a benchmark ran on, for the report. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';

export interface MachineInfo {
  cpu: string;
  /** Logical CPUs available to this process. */
  cores: number;
  memory_gib: number;
  os: string;
  node: string;
  onnxruntime_node: string;
  /** 1-minute load average when the benchmark started: other work on the machine skews timings. */
  load_average: number;
  date: string;
}

function cpuModel(): string {
  try {
    const lscpu = execFileSync('lscpu', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const model = /^Model name:\s*(.+)$/m.exec(lscpu)?.[1];
    if (model) return model.trim();
  } catch {
    // no lscpu (macOS, Windows): fall back to what Node reports
  }
  return cpus()[0]?.model?.trim() || 'unknown';
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    const path = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    onnxruntime_node: packageVersion('onnxruntime-node'),
    load_average: Math.round(loadavg()[0] * 100) / 100,
    date: new Date().toISOString(),
  };
}
