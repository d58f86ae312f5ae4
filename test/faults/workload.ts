import { readFileSync } from 'node:fs';
import path from 'node:path';
import { detectBatch } from '../../src/pipeline/detectBatch';
import { seededRandom } from '../support/logsIngestionFake';

/**
 * Event Hubs batches of Activity Log export bodies for the fault suite: successful capture operations
 * (alerts), their Start/Accept records and unrelated operations (no alerts), and now and then a malformed
 * message. Capture records carry a SAS URL in their request body so the suite can check it never leaks.
 * Built from the repository's sample export, varied per case so AlertIds never collide between cases.
 */
export const LEAK_CANARY_SIG = 'FAULTSUITECANARYSIG0123456789';

interface SampleRecord {
  time: string;
  resourceId: string;
  operationName: string;
  resultType: string;
  correlationId: string;
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

const samples = (
  JSON.parse(
    readFileSync(path.join(__dirname, '../../samples/capture-operations.eventhub.json'), 'utf8'),
  ) as {
    records: SampleRecord[];
  }
).records;
const templates = samples.filter((r) => r.resultType === 'Success');

export interface EventBatch {
  readonly index: number;
  readonly partitionId: string;
  readonly firstSequenceNumber: number;
  readonly messages: Buffer[];
  /** What the detector must deliver for this batch (computed by the detection pipeline itself). */
  readonly expectedAlertIds: string[];
  readonly malformedMessages: number;
}

export interface WorkloadOptions {
  readonly caseId: string;
  readonly batches: number;
  readonly messagesPerBatch: number;
  /** Successful capture operations per message (each yields one alert). */
  readonly capturesPerMessage: number;
  readonly seed: number;
  /** Probability that a message is replaced by a malformed one. */
  readonly malformedRate?: number;
}

function hex(random: () => number, length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(random() * 16).toString(16);
  return out;
}

export function makeWorkload(options: WorkloadOptions): EventBatch[] {
  const random = seededRandom(options.seed);
  const batches: EventBatch[] = [];
  let sequence = 1_000;
  for (let b = 0; b < options.batches; b++) {
    const partitionId = String(b % 4);
    const firstSequenceNumber = sequence;
    const messages: Buffer[] = [];
    let malformed = 0;
    for (let m = 0; m < options.messagesPerBatch; m++) {
      sequence++;
      if (random() < (options.malformedRate ?? 0)) {
        malformed++;
        messages.push(
          Buffer.from(
            `{"records":[{"operationName": "truncated https://x.blob.core.windows.net/c?sv=1&sig=${LEAK_CANARY_SIG}`,
          ),
        );
        continue;
      }
      const records: SampleRecord[] = [];
      for (let c = 0; c < options.capturesPerMessage; c++) {
        const template = templates[Math.floor(random() * templates.length)] ?? templates[0]!;
        const correlationId = `${hex(random, 8)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 12)}`;
        const seconds = String(Math.floor(random() * 60)).padStart(2, '0');
        const time = `2025-12-22T10:${String(b % 60).padStart(2, '0')}:${seconds}.${hex(random, 7).replace(/[a-f]/g, '7')}Z`;
        const resourceId = `${template.resourceId}-${options.caseId.toUpperCase()}-${b}-${m}-${c}`;
        const success: SampleRecord = {
          ...template,
          time,
          correlationId,
          resourceId,
          properties: {
            ...template.properties,
            requestbody: JSON.stringify({
              properties: {
                storageLocation: {
                  storagePath: `https://stcap.blob.core.windows.net/captures/x.cap?sv=2022-11-02&sig=${LEAK_CANARY_SIG}`,
                },
              },
            }),
          },
        };
        // The Start record of the same operation (no alert), and an unrelated operation (no alert).
        records.push({ ...success, resultType: 'Start', properties: {} }, success);
        records.push({
          ...success,
          operationName: 'MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE',
          correlationId: `${correlationId}-vm`,
        });
      }
      messages.push(Buffer.from(JSON.stringify({ records })));
    }
    const detected = detectBatch(messages, () => ({}), { now: new Date('2025-12-22T11:00:00Z') });
    batches.push({
      index: b,
      partitionId,
      firstSequenceNumber,
      messages,
      expectedAlertIds: detected.alerts.map((a) => a.AlertId),
      malformedMessages: malformed,
    });
  }
  return batches;
}
