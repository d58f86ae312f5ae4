import type { RuleFixture } from '../../src/detect/types';
import {
  ACTIVITY_LOG_EXPORT_FIXTURES,
  DETECTOR_RESOURCE_FIXTURES,
  EXPORT_HUB_FIXTURES,
} from './rules/integrity.fixtures';
import { PACKET_CAPTURE_FIXTURES } from './rules/packetCaptureEnabled.fixtures';

export { FIXTURE_CONTEXT } from './rules/integrity.fixtures';

/** Fixtures by rule id; the registry test requires an entry for every registered rule. */
export const FIXTURES_BY_RULE: Readonly<Record<string, readonly RuleFixture[]>> = {
  'Azure.MonitorActivity.Network.PacketCaptureEnabled': PACKET_CAPTURE_FIXTURES,
  'Azure.MonitorActivity.DetectorIntegrity.ActivityLogExportChanged': ACTIVITY_LOG_EXPORT_FIXTURES,
  'Azure.MonitorActivity.DetectorIntegrity.ExportHubTampered': EXPORT_HUB_FIXTURES,
  'Azure.MonitorActivity.DetectorIntegrity.DetectorResourceChanged': DETECTOR_RESOURCE_FIXTURES,
};
