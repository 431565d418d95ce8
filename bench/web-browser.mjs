/**
 * Headless Chromium with a fake webcam, as the web end-to-end test and the frame-time benchmark
 * use it. Needs Debian's `chromium` (/usr/bin/chromium) and ffmpeg.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * A 2-second 640×480 y4m clip of `photo` (letterboxed), written to `dir`, for
 * `--use-file-for-fake-video-capture`. Returns its path.
 */
export function fakeCameraClip(photo, dir) {
  const clip = path.join(dir, 'camera.y4m');
  const fit = 'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2';
  execFileSync('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-loop',
    '1',
    '-i',
    photo,
    '-t',
    '2',
    '-r',
    '10',
    '-vf',
    fit,
    '-pix_fmt',
    'yuv420p',
    clip,
  ]);
  return clip;
}

/** Headless Chromium, no GPU, no network chatter, whose webcam plays `clip` and needs no permission prompt. */
export function launchChromium(clip) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${clip}`,
    ],
  });
}
