import type { RuleFixture } from '../../src/detect/types';
import { PACKET_CAPTURE_FIXTURES } from './rules/packetCaptureEnabled.fixtures';

/** Fixtures by rule id; the registry test requires an entry for every registered rule. */
export const FIXTURES_BY_RULE: Readonly<Record<string, readonly RuleFixture[]>> = {
  'Azure.MonitorActivity.Network.PacketCaptureEnabled': PACKET_CAPTURE_FIXTURES,
};
