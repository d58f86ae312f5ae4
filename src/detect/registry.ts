/* The rules the detector runs; the registry-wide test (test/detect/registry.test.ts) covers every one. */
import { packetCaptureEnabled } from './rules/packetCaptureEnabled';
import type { DetectionRule } from './types';

/** Every rule the detector runs, in evaluation order. */
export const RULES: readonly DetectionRule[] = [packetCaptureEnabled];
