import type { Browser } from 'playwright-core';

export const CHROMIUM: string;
export function fakeCameraClip(photo: string, dir: string): string;
export function launchChromium(clip: string): Promise<Browser>;
