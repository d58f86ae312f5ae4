import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { join, resolve } from 'node:path';
import { parseEventHubConnectionString } from '@azure/event-hubs';
import { z } from 'zod';
import {
  DEFAULT_CONSUMER_GROUP,
  DEFAULT_EVENTHUB_NAME,
  EVENTHUB_CONNECTION,
} from '../../src/config/settings';
import { resolveEventHubTarget } from '../../src/eventhubs/target';

/**
 * Docker and Core Tools cannot run here, so the local-development files are checked against the formats
 * Microsoft documents (azure-event-hubs-emulator-installer: EventHub-Emulator/Schema/Config-schema.json,
 * Docker-Compose-Template/docker-compose-default.yml) and against each other.
 */
const root = join(__dirname, '../..');

/** The emulator's configuration schema (draft-07 JSON schema in the installer repository), as zod. */
const ENTITY_NAME = /^[A-Za-z0-9]$|^[A-Za-z0-9][\w\-./]*[A-Za-z0-9]$/;
const emulatorConfigSchema = z.strictObject({
  UserConfig: z.strictObject({
    NamespaceConfig: z
      .array(
        z.strictObject({
          Type: z.literal('EventHub'),
          Name: z.literal('emulatorNs1'),
          Entities: z
            .array(
              z.strictObject({
                Name: z.string().regex(ENTITY_NAME),
                // Older schema versions say string, the current one integer 1-32 (the samples use both).
                PartitionCount: z.number().int().min(1).max(32),
                ConsumerGroups: z
                  .array(
                    z.strictObject({
                      Name: z
                        .string()
                        .regex(ENTITY_NAME)
                        .refine((n) => n.toLowerCase() !== '$default', '$Default exists already'),
                    }),
                  )
                  .min(1)
                  .max(20),
              }),
            )
            .min(1)
            .max(10),
        }),
      )
      .length(1),
    LoggingConfig: z.strictObject({ Type: z.enum(['File', 'Console', 'File,Console', 'Console,File']) }),
  }),
});

const localSettingsSchema = z.object({
  IsEncrypted: z.literal(false),
  Values: z.record(z.string(), z.string()),
});

const composeSchema = z.object({
  services: z.object({
    emulator: z.object({
      image: z.string(),
      volumes: z.array(z.string()),
      ports: z.array(z.string()),
      environment: z.object({
        BLOB_SERVER: z.string(),
        METADATA_SERVER: z.string(),
        ACCEPT_EULA: z.string(),
      }),
      depends_on: z.array(z.string()),
      networks: z.record(z.string(), z.unknown()),
    }),
    azurite: z.object({
      image: z.string(),
      ports: z.array(z.string()),
      networks: z.record(z.string(), z.unknown()),
    }),
  }),
  networks: z.record(z.string(), z.unknown()),
});

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(join(root, path), 'utf8'));
}

describe('local development files', () => {
  const config = emulatorConfigSchema.parse(readJson('emulator/Config.json'));
  const settings = localSettingsSchema.parse(readJson('local.settings.json.example')).Values;
  const compose = composeSchema.parse(parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8')));
  const entities = config.UserConfig.NamespaceConfig[0]?.Entities ?? [];

  it('declares the hub and consumer group the function reads, in the emulator format', () => {
    const hub = entities.find((e) => e.Name === settings.EVENTHUB_NAME);
    expect(settings.EVENTHUB_NAME).toBe(DEFAULT_EVENTHUB_NAME);
    expect(hub).toBeDefined();
    const groups = hub?.ConsumerGroups.map((g) => g.Name) ?? [];
    expect(groups).toContain(settings.EVENTHUB_CONSUMER_GROUP);
    expect(settings.EVENTHUB_CONSUMER_GROUP).toBe(DEFAULT_CONSUMER_GROUP);
    // The standalone consumer gets its own group, so it can run next to `func start` without stealing
    // partitions from the trigger (both read with an owner level).
    expect(groups).toContain(`${DEFAULT_CONSUMER_GROUP}-consume`);
  });

  it("points the function's connection at the emulator: plain AMQP on 5672, published by compose", () => {
    const connection = settings[EVENTHUB_CONNECTION] ?? '';
    const parsed = parseEventHubConnectionString(connection);
    expect(parsed).toMatchObject({
      fullyQualifiedNamespace: 'localhost',
      sharedAccessKeyName: 'RootManageSharedAccessKey',
      sharedAccessKey: 'SAS_KEY_VALUE',
    });
    expect(connection).toMatch(/;UseDevelopmentEmulator=true;?$/);
    // The SDK's default port with UseDevelopmentEmulator=true (core-amqp ConnectionContextBase) is 5672.
    expect(compose.services.emulator.ports).toContain('5672:5672');
    // send/consume read the same setting and hub name.
    expect(resolveEventHubTarget({}, settings)).toMatchObject({
      kind: 'connectionString',
      host: 'localhost',
      hub: DEFAULT_EVENTHUB_NAME,
    });
  });

  it('runs the documented emulator and Azurite images, wired as in the template', () => {
    const { emulator, azurite } = compose.services;
    expect(emulator.image).toBe('mcr.microsoft.com/azure-messaging/eventhubs-emulator:latest');
    expect(azurite.image).toBe('mcr.microsoft.com/azure-storage/azurite:latest');
    expect(emulator.environment.BLOB_SERVER).toBe('azurite');
    expect(emulator.environment.METADATA_SERVER).toBe('azurite');
    expect(emulator.environment.ACCEPT_EULA).toMatch(/^\$\{ACCEPT_EULA(:\?[^}]*)?\}$/);
    expect(emulator.depends_on).toContain('azurite');
    const shared = Object.keys(emulator.networks).filter((n) => n in azurite.networks);
    expect(shared).toHaveLength(1);
    expect(Object.keys(compose.networks)).toContain(shared[0]);

    const mount = emulator.volumes.find((v) => v.endsWith(':/Eventhubs_Emulator/ConfigFiles/Config.json'));
    expect(mount).toBeDefined();
    const source = (mount ?? '').replace(/:\/Eventhubs_Emulator\/ConfigFiles\/Config\.json$/, '');
    const defaultPath = /^\$\{CONFIG_PATH:-([^}]+)\}$/.exec(source)?.[1] ?? source;
    expect(resolve(root, defaultPath)).toBe(join(root, 'emulator/Config.json'));
    expect(existsSync(join(root, defaultPath))).toBe(true);
  });

  it('exposes Azurite where UseDevelopmentStorage=true looks (blob 10000, queue 10001, table 10002)', () => {
    expect(settings.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    expect(compose.services.azurite.ports).toEqual(['10000:10000', '10001:10001', '10002:10002']);
  });
});
