/**
 * An in-process AMQP 1.0 server that speaks enough of the Azure Event Hubs protocol for the real
 * `@azure/event-hubs` clients (producer and consumer) connected through an emulator-style connection string
 * (`UseDevelopmentEmulator=true`: plain AMQP, no TLS, custom port in the endpoint).
 *
 * What it implements, as the service does:
 * - SASL ANONYMOUS (what the SDK offers) and PLAIN;
 * - CBS (`$cbs`, `put-token`): SAS tokens are verified against the configured key, and every link and
 *   management request must be covered by a token for its audience (as the service refuses them otherwise);
 * - `$management` READ of `com.microsoft:eventhub` and `com.microsoft:partition`;
 * - senders to `<hub>` (round robin, or by the batch's `x-opt-partition-key`) and `<hub>/Partitions/<id>`,
 *   single messages and the SDK's batch format (0x80013700, one AMQP message per data section), the link's
 *   `max-message-size` enforced;
 * - receivers on `<hub>/ConsumerGroups/<cg>/Partitions/<id>` honouring `apache.org:selector-filter:string`
 *   (offset / sequence number / enqueued time, `>` and `>=`, `-1` and `@latest`), credit-based flow, owner
 *   level (`com.microsoft:epoch`) link stealing, last-enqueued runtime metrics on request;
 * - message annotations `x-opt-sequence-number` (long), `x-opt-offset` (string, a byte position as the
 *   service reports it), `x-opt-enqueued-time` (timestamp), `x-opt-partition-key`.
 * Events are kept in memory, per partition, for the server's lifetime (no retention).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Server, Socket } from 'node:net';
import {
  create_container,
  message as amqpMessage,
  types as amqpTypes,
  type Connection,
  type Container,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
} from 'rhea';

/** Message format of the SDK's batched send: each data section of the body is one encoded AMQP message. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;
const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const EPOCH_PROPERTY = 'com.microsoft:epoch';
const RUNTIME_METRIC_CAPABILITY = 'com.microsoft:enable-receiver-runtime-metric';
const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

export interface EventHubsServerOptions {
  /** Default `insights-activity-logs`. */
  readonly hubName?: string;
  /** Default 4. */
  readonly partitionCount?: number;
  /** Consumer groups besides `$Default` (always present). */
  readonly consumerGroups?: readonly string[];
  /** Default `RootManageSharedAccessKey` / `SAS_KEY_VALUE`, the emulator's values. */
  readonly sharedAccessKeyName?: string;
  readonly sharedAccessKey?: string;
  /** Largest message (single event or batch envelope) a sender may transfer; default 1 MiB as on Standard. */
  readonly maxMessageSize?: number;
}

/** One event as the hub stores it. */
export interface StoredEvent {
  readonly partitionId: string;
  readonly sequenceNumber: number;
  readonly offset: string;
  readonly enqueuedTime: Date;
  readonly partitionKey: string | undefined;
  /** The event's own AMQP message as the producer encoded it (body, properties, application properties). */
  readonly message: Message;
  /** Encoded size of the event's message in bytes. */
  readonly size: number;
}

export interface EventHubsServerStats {
  connectionsOpened: number;
  /** Transfers accepted from producers (a batch counts once). */
  transfersAccepted: number;
  transfersRejected: number;
  eventsStored: number;
  eventsDelivered: number;
  tokensAccepted: number;
  tokensRefused: number;
  linksRefused: number;
}

export interface EventHubsServer {
  readonly port: number;
  readonly hubName: string;
  readonly partitionIds: readonly string[];
  /** `Endpoint=sb://127.0.0.1:<port>;…;EntityPath=<hub>;UseDevelopmentEmulator=true`. */
  readonly connectionString: string;
  /** The same without `EntityPath` (namespace level, as the emulator documents it). */
  readonly namespaceConnectionString: string;
  readonly stats: Readonly<EventHubsServerStats>;
  events(partitionId: string): readonly StoredEvent[];
  allEvents(): readonly StoredEvent[];
  /** Closes every client connection with `amqp:connection:forced` (clients reconnect), as a service restart. */
  dropConnections(): void;
  close(): Promise<void>;
}

interface PartitionLog {
  readonly id: string;
  readonly events: StoredEvent[];
  nextOffset: number;
}

interface ReadLink {
  readonly sender: Sender;
  readonly connection: Connection;
  readonly partition: PartitionLog;
  readonly consumerGroup: string;
  readonly epoch: number | undefined;
  readonly trackLastEnqueued: boolean;
  next: number;
}

type TermFields = { address?: unknown; filter?: unknown } | undefined;

/** rhea's link internals that its typings leave out. */
interface LinkInternals {
  local: { attach: { max_message_size?: unknown; source?: unknown; target?: unknown; properties?: unknown } };
  remote: {
    attach?: {
      source?: TermFields;
      target?: TermFields;
      properties?: unknown;
      desired_capabilities?: unknown;
    };
  };
  set_source(fields: Record<string, unknown>): void;
  set_target(fields: Record<string, unknown>): void;
}

interface BodySection {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

class AmqpFailure extends Error {
  constructor(
    readonly condition: string,
    description: string,
  ) {
    super(description);
  }
}

function internals(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

function addressOf(terminus: TermFields): string | undefined {
  return typeof terminus?.address === 'string' ? terminus.address : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isBodySection(value: unknown): value is BodySection {
  return typeof value === 'object' && value !== null && 'typecode' in value && 'content' in value;
}

function errorOf(condition: string, description: string) {
  return { condition, description };
}

/** Selector filter text as the SDK writes it (`getEventPositionFilter`). */
const FILTER_PATTERN =
  /^amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'$/;

/** Index of the first event the filter selects (the log's length when none yet). */
export function startIndexForFilter(filter: string | undefined, events: readonly StoredEvent[]): number {
  if (filter === undefined) return 0;
  const match = FILTER_PATTERN.exec(filter.trim());
  if (!match) throw new AmqpFailure('amqp:invalid-field', `Unsupported selector filter: ${filter}`);
  const [, field, operator, value = ''] = match;
  const inclusive = operator === '>=';
  if (field === 'x-opt-offset') {
    if (value === '@latest') return events.length;
    const wanted = Number(value);
    if (!Number.isInteger(wanted))
      throw new AmqpFailure('amqp:invalid-field', `Invalid offset in filter: ${value}`);
    if (wanted < 0) return 0;
    const index = events.findIndex((e) =>
      inclusive ? Number(e.offset) >= wanted : Number(e.offset) > wanted,
    );
    return index === -1 ? events.length : index;
  }
  const wanted = Number(value);
  if (!Number.isFinite(wanted))
    throw new AmqpFailure('amqp:invalid-field', `Invalid value in filter: ${value}`);
  const select =
    field === 'x-opt-sequence-number'
      ? (e: StoredEvent) => (inclusive ? e.sequenceNumber >= wanted : e.sequenceNumber > wanted)
      : (e: StoredEvent) =>
          inclusive ? e.enqueuedTime.getTime() >= wanted : e.enqueuedTime.getTime() > wanted;
  const index = events.findIndex(select);
  return index === -1 ? events.length : index;
}

function decodeMessage(buffer: Buffer): Message {
  // rhea declares two `Message` interfaces (message.d.ts and connection.d.ts) for the same object.
  return amqpMessage.decode(buffer) as unknown as Message;
}

function partitionKeyOf(message: Message): string | undefined {
  const annotations = message.message_annotations;
  return asString(annotations?.['x-opt-partition-key']);
}

/** Splits a received transfer into the events it carries (one for a plain message, N for a batch). */
export function eventsOfTransfer(
  payload: Message | Buffer,
  format: number,
): { events: Message[]; partitionKey: string | undefined } {
  if (format === 0) {
    const single = payload as Message;
    return { events: [single], partitionKey: partitionKeyOf(single) };
  }
  if (format !== BATCH_MESSAGE_FORMAT || !Buffer.isBuffer(payload)) {
    throw new AmqpFailure('amqp:not-implemented', `Unsupported message format ${format}`);
  }
  const envelope = decodeMessage(payload);
  const body: unknown = envelope.body;
  if (!isBodySection(body) || body.typecode !== 0x75) {
    throw new AmqpFailure('amqp:decode-error', 'A batch message must carry its events as data sections');
  }
  const sections: unknown[] =
    body.multiple === true && Array.isArray(body.content) ? body.content : [body.content];
  const events = sections.map((section) => {
    if (!Buffer.isBuffer(section))
      throw new AmqpFailure('amqp:decode-error', 'A batch data section is not binary');
    return decodeMessage(section);
  });
  return { events, partitionKey: partitionKeyOf(envelope) };
}

function hashPartitionKey(key: string, count: number): number {
  let hash = 5381;
  for (const char of key) hash = ((hash * 33) ^ char.charCodeAt(0)) >>> 0;
  return hash % count;
}

/**
 * Verifies a SAS token (`SharedAccessSignature sr=…&sig=…&se=…&skn=…`) signed with `key`; returns the
 * audience it was issued for, or why it is refused.
 */
function verifySasToken(
  token: string,
  keyName: string,
  key: string,
  nowSeconds: number,
): { audience: string; expiresMs: number } | { problem: string } {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return { problem: 'not a SharedAccessSignature token' };
  const fields = new Map<string, string>();
  for (const pair of token.slice(prefix.length).split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (sr === undefined || sig === undefined || se === undefined || skn === undefined) {
    return { problem: 'missing sr, sig, se or skn' };
  }
  if (decodeURIComponent(skn) !== keyName) return { problem: `unknown key name ${decodeURIComponent(skn)}` };
  if (!/^\d+$/.test(se) || Number(se) < nowSeconds) return { problem: 'token expired' };
  const expected = createHmac('sha256', key).update(`${sr}\n${se}`).digest();
  const actual = Buffer.from(decodeURIComponent(sig), 'base64');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return { problem: 'signature mismatch' };
  return { audience: decodeURIComponent(sr), expiresMs: Number(se) * 1000 };
}

/** Path of an audience (`sb://host:port/hub/…` → `hub/…`), lower-cased. */
function audiencePath(audience: string): string {
  const withoutScheme = audience.replace(/^[a-z]+:\/\/[^/]*/i, '');
  return withoutScheme.replace(/^\/+/, '').replace(/\/+$/, '').toLowerCase();
}

export async function startEventHubsServer(options: EventHubsServerOptions = {}): Promise<EventHubsServer> {
  const hubName = options.hubName ?? 'insights-activity-logs';
  const partitionCount = options.partitionCount ?? 4;
  const keyName = options.sharedAccessKeyName ?? 'RootManageSharedAccessKey';
  const key = options.sharedAccessKey ?? 'SAS_KEY_VALUE';
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const consumerGroups = new Set(['$default', ...(options.consumerGroups ?? []).map((g) => g.toLowerCase())]);
  const createdAt = new Date();
  const partitions: PartitionLog[] = Array.from({ length: partitionCount }, (_, i) => ({
    id: String(i),
    events: [],
    nextOffset: 0,
  }));
  const partitionIds = partitions.map((p) => p.id);
  const stats: EventHubsServerStats = {
    connectionsOpened: 0,
    transfersAccepted: 0,
    transfersRejected: 0,
    eventsStored: 0,
    eventsDelivered: 0,
    tokensAccepted: 0,
    tokensRefused: 0,
    linksRefused: 0,
  };
  /** Audiences (paths) each connection holds a valid token for, with the token's expiry (ms). */
  const grants = new Map<Connection, Map<string, number>>();
  const readLinks = new Set<ReadLink>();
  const replyLinks = new Set<Sender>();
  const connections = new Set<Connection>();
  let roundRobin = 0;

  const container: Container = create_container({ id: `eventhubs-fake-${hubName}`, autoaccept: false });
  const mechanisms = container.sasl_server_mechanisms as {
    enable_anonymous(): void;
    enable_plain(verify: (user: string, pass: string) => boolean): void;
  };
  mechanisms.enable_anonymous();
  mechanisms.enable_plain((user, pass) => user === keyName && pass === key);

  const hubPath = hubName.toLowerCase();
  /** `host:port`, known once listening; the service names missing entities by full address. */
  let namespaceHost = '127.0.0.1';
  /** The service's wording (amqp:not-found), which clients and operators match on. */
  const notFound = (entity: string): string =>
    `The messaging entity 'sb://${namespaceHost}/${entity.toLowerCase()}' could not be found. TrackingId:${randomUUID()}`;

  function authorized(connection: Connection, entityPath: string): boolean {
    const held = grants.get(connection);
    if (!held) return false;
    const wanted = entityPath.toLowerCase();
    const now = Date.now();
    for (const [path, expires] of held) {
      if (expires < now) continue;
      if (path === '' || wanted === path || wanted.startsWith(`${path}/`)) return true;
    }
    return false;
  }

  function partitionById(id: string): PartitionLog {
    const partition = partitions.find((p) => p.id === id);
    if (!partition) {
      throw new AmqpFailure(
        'com.microsoft:argument-out-of-range',
        `Partition ${id} does not exist in ${hubName}`,
      );
    }
    return partition;
  }

  function append(
    partition: PartitionLog,
    event: Message,
    partitionKey: string | undefined,
    enqueuedTime: Date,
  ): void {
    const size = amqpMessage.encode(event).length;
    partition.events.push({
      partitionId: partition.id,
      sequenceNumber: partition.events.length,
      offset: String(partition.nextOffset),
      enqueuedTime,
      partitionKey,
      message: event,
      size,
    });
    partition.nextOffset += size;
    stats.eventsStored += 1;
  }

  function pumpAll(partition: PartitionLog): void {
    for (const link of readLinks) if (link.partition === partition) pump(link);
  }

  function pump(link: ReadLink): void {
    const events = link.partition.events;
    while (link.next < events.length && link.sender.sendable()) {
      const event = events[link.next];
      if (!event) break;
      link.next += 1;
      const annotations: Record<string, unknown> = {
        ...event.message.message_annotations,
        'x-opt-sequence-number': amqpTypes.wrap_long(event.sequenceNumber),
        'x-opt-offset': event.offset,
        'x-opt-enqueued-time': event.enqueuedTime,
      };
      if (event.partitionKey !== undefined) annotations['x-opt-partition-key'] = event.partitionKey;
      const outgoing: Message = { ...event.message, message_annotations: annotations };
      if (link.trackLastEnqueued) {
        const last = events[events.length - 1];
        if (last) {
          outgoing.delivery_annotations = {
            last_enqueued_sequence_number: amqpTypes.wrap_long(last.sequenceNumber),
            last_enqueued_offset: last.offset,
            last_enqueued_time_utc: last.enqueuedTime,
            runtime_info_retrieval_time_utc: new Date(),
          };
        }
      }
      link.sender.send(outgoing);
      stats.eventsDelivered += 1;
    }
  }

  function refuse(link: Sender | Receiver, failure: AmqpFailure): void {
    stats.linksRefused += 1;
    link.close(errorOf(failure.condition, failure.message));
  }

  function onReceiverOpen(context: EventContext): void {
    const receiver = context.receiver;
    if (!receiver) return;
    const link = internals(receiver);
    const target = addressOf(link.remote.attach?.target);
    link.set_source(link.remote.attach?.source ?? {});
    link.set_target(link.remote.attach?.target ?? {});
    link.local.attach.max_message_size = maxMessageSize;
    if (target === '$cbs' || target === '$management') return;
    try {
      if (target === undefined)
        throw new AmqpFailure('amqp:invalid-field', 'A sender link needs a target address');
      const parts = target.split('/');
      const isHub = parts.length === 1 && parts[0]?.toLowerCase() === hubPath;
      const isPartition =
        parts.length === 3 && parts[0]?.toLowerCase() === hubPath && parts[1]?.toLowerCase() === 'partitions';
      if (!isHub && !isPartition) {
        throw new AmqpFailure('amqp:not-found', notFound(target));
      }
      if (isPartition) partitionById(parts[2] ?? '');
      if (!authorized(context.connection, target)) {
        throw new AmqpFailure(
          'amqp:unauthorized-access',
          `Unauthorized access to '${target}': put a token first`,
        );
      }
    } catch (error) {
      refuse(
        receiver,
        error instanceof AmqpFailure ? error : new AmqpFailure('amqp:internal-error', String(error)),
      );
    }
  }

  function onMessage(context: EventContext): void {
    const receiver = context.receiver;
    const delivery = context.delivery;
    if (!receiver || !delivery) return;
    const target = addressOf(internals(receiver).remote.attach?.target);
    try {
      if (target === '$cbs') {
        handleCbs(context);
        delivery.accept();
        return;
      }
      if (target === '$management') {
        handleManagement(context);
        delivery.accept();
        return;
      }
      handleEvents(context, target ?? '', delivery);
      stats.transfersAccepted += 1;
      delivery.accept();
    } catch (error) {
      stats.transfersRejected += 1;
      const failure =
        error instanceof AmqpFailure ? error : new AmqpFailure('amqp:internal-error', String(error));
      delivery.reject(errorOf(failure.condition, failure.message));
    }
  }

  function handleEvents(context: EventContext, target: string, delivery: Delivery): void {
    const payload = context.message as Message | Buffer;
    const format = delivery.format;
    const size = Buffer.isBuffer(payload) ? payload.length : amqpMessage.encode(payload).length;
    if (size > maxMessageSize) {
      throw new AmqpFailure(
        'amqp:link:message-size-exceeded',
        `The received message (delivery-id:${delivery.id}, size:${size} bytes) exceeds the limit (${maxMessageSize} bytes)`,
      );
    }
    const { events, partitionKey } = eventsOfTransfer(payload, format);
    const parts = target.split('/');
    let partition: PartitionLog;
    if (parts.length === 3) {
      if (partitionKey !== undefined) {
        throw new AmqpFailure(
          'amqp:invalid-field',
          'A partition key cannot be used when sending to a partition',
        );
      }
      partition = partitionById(parts[2] ?? '');
    } else if (partitionKey !== undefined) {
      partition = partitions[hashPartitionKey(partitionKey, partitions.length)]!;
    } else {
      partition = partitions[roundRobin % partitions.length]!;
      roundRobin += 1;
    }
    const enqueuedTime = new Date();
    for (const event of events) append(partition, event, partitionKey, enqueuedTime);
    pumpAll(partition);
  }

  function reply(
    context: EventContext,
    node: string,
    status: number,
    description: string,
    body?: unknown,
  ): void {
    const request = context.message;
    const replyTo = asString(request?.reply_to);
    const sender = [...replyLinks].find((s) => {
      if (s.connection !== context.connection) return false;
      const link = internals(s);
      if (addressOf(link.remote.attach?.source) !== node) return false;
      return replyTo === undefined || s.name === replyTo || addressOf(link.remote.attach?.target) === replyTo;
    });
    if (!sender) return;
    const response: Message = {
      to: replyTo,
      correlation_id: request?.message_id,
      application_properties: { 'status-code': status, 'status-description': description },
      body,
    };
    sender.send(response);
  }

  function handleCbs(context: EventContext): void {
    const request = context.message;
    const props = (request?.application_properties ?? {}) as Record<string, unknown>;
    if (props.operation !== 'put-token') {
      reply(context, '$cbs', 400, `Unsupported CBS operation ${String(props.operation)}`);
      return;
    }
    const audience = asString(props.name) ?? '';
    const type = asString(props.type);
    const token = asString(request?.body) ?? '';
    const verdict =
      type === 'servicebus.windows.net:sastoken'
        ? verifySasToken(token, keyName, key, Math.floor(Date.now() / 1000))
        : { problem: `unsupported token type ${String(type)} (this fake accepts SAS tokens only)` };
    const problem =
      'problem' in verdict
        ? verdict.problem
        : verdict.audience.toLowerCase() === audience.toLowerCase()
          ? undefined
          : 'the token was issued for another audience than the name';
    if (problem !== undefined || 'problem' in verdict) {
      stats.tokensRefused += 1;
      reply(context, '$cbs', 401, `InvalidSignature: ${problem ?? ''}`);
      return;
    }
    stats.tokensAccepted += 1;
    let held = grants.get(context.connection);
    if (!held) {
      held = new Map();
      grants.set(context.connection, held);
    }
    held.set(audiencePath(audience), verdict.expiresMs);
    reply(context, '$cbs', 200, 'OK');
  }

  function handleManagement(context: EventContext): void {
    const request = context.message;
    const props = (request?.application_properties ?? {}) as Record<string, unknown>;
    const name = asString(props.name) ?? '';
    const token = asString(props.security_token) ?? '';
    const verdict = verifySasToken(token, keyName, key, Math.floor(Date.now() / 1000));
    if ('problem' in verdict) {
      reply(context, '$management', 401, `Unauthorized: ${verdict.problem}`);
      return;
    }
    const granted = audiencePath(verdict.audience);
    if (granted !== '' && granted !== name.toLowerCase()) {
      reply(context, '$management', 401, `Unauthorized: the security token is for '${verdict.audience}'`);
      return;
    }
    if (props.operation !== 'READ') {
      reply(context, '$management', 400, `Unsupported operation ${String(props.operation)}`);
      return;
    }
    if (name.toLowerCase() !== hubPath) {
      reply(context, '$management', 404, notFound(name));
      return;
    }
    if (props.type === 'com.microsoft:eventhub') {
      reply(context, '$management', 200, 'OK', {
        name: hubName,
        type: 'com.microsoft:eventhub',
        created_at: createdAt,
        partition_count: amqpTypes.wrap_int(partitions.length),
        partition_ids: amqpTypes.wrap_array(partitionIds, 0xa1, undefined),
      });
      return;
    }
    if (props.type === 'com.microsoft:partition') {
      const id = asString(props.partition) ?? '';
      const partition = partitions.find((p) => p.id === id);
      if (!partition) {
        reply(context, '$management', 404, `Partition ${id} does not exist in ${hubName}`);
        return;
      }
      const last = partition.events[partition.events.length - 1];
      reply(context, '$management', 200, 'OK', {
        name: hubName,
        type: 'com.microsoft:partition',
        partition: partition.id,
        begin_sequence_number: amqpTypes.wrap_long(0),
        last_enqueued_sequence_number: amqpTypes.wrap_long(last ? last.sequenceNumber : -1),
        last_enqueued_offset: last ? last.offset : '-1',
        last_enqueued_time_utc: last ? last.enqueuedTime : new Date(0),
        is_partition_empty: partition.events.length === 0,
      });
      return;
    }
    reply(context, '$management', 400, `Unsupported entity type ${String(props.type)}`);
  }

  function onSenderOpen(context: EventContext): void {
    const sender = context.sender;
    if (!sender) return;
    const link = internals(sender);
    const remote = link.remote.attach;
    link.set_source(remote?.source ?? {});
    link.set_target(remote?.target ?? {});
    const source = addressOf(remote?.source);
    if (source === '$cbs' || source === '$management') {
      replyLinks.add(sender);
      return;
    }
    try {
      const parts = (source ?? '').split('/');
      if (
        parts.length !== 5 ||
        parts[0]?.toLowerCase() !== hubPath ||
        parts[1]?.toLowerCase() !== 'consumergroups' ||
        parts[3]?.toLowerCase() !== 'partitions'
      ) {
        throw new AmqpFailure('amqp:not-found', notFound(source ?? ''));
      }
      const consumerGroup = (parts[2] ?? '').toLowerCase();
      if (!consumerGroups.has(consumerGroup)) {
        throw new AmqpFailure('amqp:not-found', notFound(source ?? ''));
      }
      const partition = partitionById(parts[4] ?? '');
      if (!authorized(context.connection, source ?? '')) {
        throw new AmqpFailure(
          'amqp:unauthorized-access',
          `Unauthorized access to '${String(source)}': put a token first`,
        );
      }
      const filters = (remote?.source?.filter ?? {}) as Record<string, unknown>;
      const selector = filters[SELECTOR_FILTER];
      const filterText =
        typeof selector === 'string'
          ? selector
          : asString((selector as { value?: unknown } | undefined)?.value);
      const properties = (remote?.properties ?? {}) as Record<string, unknown>;
      const epochValue = properties[EPOCH_PROPERTY];
      const epoch = typeof epochValue === 'number' ? epochValue : undefined;
      const capabilities = remote?.desired_capabilities;
      const wanted = Array.isArray(capabilities)
        ? capabilities
        : capabilities === undefined
          ? []
          : [capabilities];
      const readLink: ReadLink = {
        sender,
        connection: context.connection,
        partition,
        consumerGroup,
        epoch,
        trackLastEnqueued: wanted.includes(RUNTIME_METRIC_CAPABILITY),
        next: startIndexForFilter(filterText, partition.events),
      };
      if (epoch !== undefined) {
        for (const other of readLinks) {
          if (
            other.partition !== partition ||
            other.consumerGroup !== consumerGroup ||
            other.epoch === undefined
          )
            continue;
          if (other.epoch > epoch) {
            throw new AmqpFailure(
              'com.microsoft:receiver-disconnected',
              `A receiver with a higher epoch (${other.epoch}) already exists on partition ${partition.id}`,
            );
          }
        }
        for (const other of [...readLinks]) {
          if (
            other.partition !== partition ||
            other.consumerGroup !== consumerGroup ||
            other.epoch === undefined
          )
            continue;
          readLinks.delete(other);
          other.sender.close(
            errorOf(
              'amqp:link:stolen',
              `New receiver with epoch ${epoch} stole partition ${partition.id} of consumer group ${consumerGroup}`,
            ),
          );
        }
      }
      readLinks.add(readLink);
    } catch (error) {
      refuse(
        sender,
        error instanceof AmqpFailure ? error : new AmqpFailure('amqp:internal-error', String(error)),
      );
    }
  }

  function forgetSender(sender: Sender | undefined): void {
    if (!sender) return;
    replyLinks.delete(sender);
    for (const link of readLinks) if (link.sender === sender) readLinks.delete(link);
  }

  function forgetConnection(connection: Connection): void {
    connections.delete(connection);
    grants.delete(connection);
    for (const link of [...readLinks]) if (link.connection === connection) readLinks.delete(link);
    for (const sender of [...replyLinks]) if (sender.connection === connection) replyLinks.delete(sender);
  }

  container.on('connection_open', (context: EventContext) => {
    connections.add(context.connection);
    stats.connectionsOpened += 1;
  });
  container.on('receiver_open', onReceiverOpen);
  container.on('sender_open', onSenderOpen);
  container.on('message', onMessage);
  container.on('sendable', (context: EventContext) => {
    for (const link of readLinks) if (link.sender === context.sender) pump(link);
  });
  container.on('sender_close', (context: EventContext) => {
    forgetSender(context.sender);
  });
  container.on('connection_close', (context: EventContext) => {
    forgetConnection(context.connection);
  });
  container.on('disconnected', (context: EventContext) => {
    forgetConnection(context.connection);
  });
  // Without handlers rhea rethrows link and connection errors; a client misbehaving must not crash the test run.
  container.on('error', () => undefined);
  container.on('receiver_error', () => undefined);
  container.on('sender_error', () => undefined);
  container.on('connection_error', () => undefined);
  container.on('session_error', () => undefined);
  container.on('protocol_error', () => undefined);

  const listener: Server = container.listen({ port: 0, host: '127.0.0.1' });
  const sockets = new Set<Socket>();
  listener.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('listening', resolve);
    listener.once('error', reject);
  });
  const port = (listener.address() as AddressInfo).port;
  namespaceHost = `127.0.0.1:${port}`;
  const namespaceConnectionString = `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true`;
  const connectionString = `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};EntityPath=${hubName};UseDevelopmentEmulator=true`;

  return {
    port,
    hubName,
    partitionIds,
    connectionString,
    namespaceConnectionString,
    stats,
    events: (id) => partitions.find((p) => p.id === id)?.events ?? [],
    allEvents: () => partitions.flatMap((p) => p.events),
    dropConnections() {
      for (const connection of [...connections]) {
        connection.close(errorOf('amqp:connection:forced', 'The service is restarting'));
      }
    },
    async close() {
      for (const connection of [...connections]) {
        try {
          connection.close();
        } catch {
          // Already gone.
        }
      }
      await new Promise<void>((resolve) => {
        listener.close(() => {
          resolve();
        });
        // Clients that do not answer the close handshake would keep the listener open.
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 200).unref();
      });
      connections.clear();
      readLinks.clear();
      replyLinks.clear();
      grants.clear();
    },
  };
}
