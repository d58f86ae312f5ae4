import { packetCaptureEnabled } from './rules/packetCaptureEnabled';
import type { DetectionRule } from './types';

/** Every rule the detector runs. Adding a rule here makes the registry-wide invariant test cover it. */
export const RULES: readonly DetectionRule[] = [packetCaptureEnabled];
