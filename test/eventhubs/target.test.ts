import { resolveEventHubTarget } from '../../src/eventhubs/target';
import { errorText } from '../../src/lib/errorText';

const EMULATOR =
  'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';

describe('resolveEventHubTarget', () => {
  it('takes the flag before the environment, and the hub from EntityPath, the flag, EVENTHUB_NAME or the default', () => {
    expect(resolveEventHubTarget({ connectionString: EMULATOR }, {})).toMatchObject({
      kind: 'connectionString',
      host: 'localhost',
      hub: 'insights-activity-logs',
      eventHubName: 'insights-activity-logs',
    });
    expect(
      resolveEventHubTarget({ connectionString: EMULATOR, hub: 'h1' }, { EVENTHUB_NAME: 'h2' }),
    ).toMatchObject({
      hub: 'h1',
      eventHubName: 'h1',
    });
    expect(resolveEventHubTarget({}, { EventHubConnection: EMULATOR, EVENTHUB_NAME: 'h2' })).toMatchObject({
      hub: 'h2',
    });
    const withPath = `${EMULATOR}EntityPath=from-path`;
    expect(resolveEventHubTarget({}, { EVENTHUB_CONNECTION_STRING: withPath })).toMatchObject({
      hub: 'from-path',
      eventHubName: undefined,
    });
  });

  it('uses the identity-based namespace setting of the function', () => {
    expect(
      resolveEventHubTarget({}, { EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net' }),
    ).toEqual({
      kind: 'identity',
      fullyQualifiedNamespace: 'ns.servicebus.windows.net',
      host: 'ns.servicebus.windows.net',
      hub: 'insights-activity-logs',
    });
    expect(resolveEventHubTarget({ namespace: 'sb://ns.servicebus.windows.net/' }, {})).toMatchObject({
      fullyQualifiedNamespace: 'ns.servicebus.windows.net',
    });
  });

  it('explains what is missing or contradictory, without echoing keys', () => {
    expect(() => resolveEventHubTarget({}, {})).toThrow(/--namespace .* or --connection-string/);
    expect(() =>
      resolveEventHubTarget({ connectionString: EMULATOR, namespace: 'ns.servicebus.windows.net' }, {}),
    ).toThrow(/either --connection-string or --namespace/);
    expect(() =>
      resolveEventHubTarget({ connectionString: `${EMULATOR}EntityPath=a`, hub: 'b' }, {}),
    ).toThrow(/Event Hub "a" but the hub given is "b"/);
    let message = '';
    try {
      resolveEventHubTarget({ connectionString: 'SharedAccessKey=very-secret;Foo=bar' }, {});
    } catch (error) {
      message = errorText(error);
    }
    expect(message).toMatch(/must contain Endpoint=sb:\/\//);
    expect(message).not.toContain('very-secret');
    expect(() => resolveEventHubTarget({ connectionString: 'Endpoint=sb://x/;EntityPath=a' }, {})).toThrow(
      /SharedAccessKey/,
    );
    expect(() => resolveEventHubTarget({ namespace: 'not a host' }, {})).toThrow(/host name/);
  });
});
