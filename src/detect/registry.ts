/* The rules the detector runs; the registry-wide test (test/detect/registry.test.ts) covers every one. */
import { activityLogExportChanged } from './rules/activityLogExportChanged';
import { detectorResourceChanged } from './rules/detectorResourceChanged';
import { exportHubTampered } from './rules/exportHubTampered';
import { packetCaptureEnabled } from './rules/packetCaptureEnabled';
import type { DetectionRule } from './types';

/** Every rule the detector runs, in evaluation order. */
export const RULES: readonly DetectionRule[] = [
  packetCaptureEnabled,
  activityLogExportChanged,
  exportHubTampered,
  detectorResourceChanged,
];
