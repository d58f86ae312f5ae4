/**
 * The blob source's ceiling for the scan benchmark: a process that only lists a container and downloads
 * every blob (16 at a time, as `scan` does by default) and throws the bytes away. `scan <container URL>`
 * against it says how much of the time is the storage's (here Azurite, on the same two cores) and how much
 * is scanning. `AZURE_STORAGE_CONNECTION_STRING=... node dist/bench/downloadAll.js <container>`; prints
 * the byte count.
 */
import { BlobServiceClient } from '@azure/storage-blob';

async function main(): Promise<void> {
  const [containerName] = process.argv.slice(2);
  const cs = process.env.AZURE_STORAGE_CONNECTION_STRING;
  if (containerName === undefined || cs === undefined) {
    throw new Error('usage: AZURE_STORAGE_CONNECTION_STRING=... downloadAll.js <container>');
  }
  const container = BlobServiceClient.fromConnectionString(cs).getContainerClient(containerName);
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  let next = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < names.length; i = next++) {
        const response = await container.getBlobClient(names[i] ?? '').download();
        for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) bytes += chunk.length;
      }
    }),
  );
  process.stdout.write(`${bytes}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
