/*
 * The inputs a scan reads, from the sources named in the order given: standard input, local files and
 * folders (walked), blob archives (listed). Each file or blob is read once however often it is named; the
 * time range selects by the archive's y=/m=/d=/h= path before anything is read.
 */
import type { StoragePipelineOptions } from '@azure/storage-blob';
import type { Settings } from '../../config/settings';
import { errorText } from '../../lib/errorText';
import { describeNotice, walkPaths } from '../files';
import type { CliIo } from '../io';
import { blobInput, listArchive, openArchive, type BlobArchive, type ListingCounts } from './blobSource';
import type { Sources } from './args';
import { localInput, stdinInput, type ScanInput } from './inputs';
import type { ResumeState } from './resume';
import type { ScanTotals } from './run';
import { selectedByPath, type TimeRange } from './timeRange';

export interface SourceContext {
  readonly io: CliIo;
  readonly settings: Settings;
  readonly range: TimeRange | undefined;
  readonly resume: ResumeState | undefined;
  /** Counts unreadable inputs. */
  readonly totals: ScanTotals;
  /** Counts what the time range left out. */
  readonly listing: ListingCounts;
  readonly say: (text: string) => void;
  readonly signal: AbortSignal;
  readonly blobClientOptions?: StoragePipelineOptions;
}

export async function* scanInputs(sources: Sources, ctx: SourceContext): AsyncGenerator<ScanInput> {
  const { totals, listing, range, say } = ctx;
  const stopped = (): boolean => ctx.signal.aborted;
  const seenFiles = new Set<string>();
  const seenBlobs = new Set<string>();
  for (const source of sources.order) {
    if (stopped()) return;
    if (source.kind === 'stdin') {
      if (ctx.resume) say('standard input cannot be resumed: it is read in full every time');
      yield stdinInput(ctx.io.stdin);
      continue;
    }
    if (source.kind === 'local') {
      for await (const file of walkPaths([source.path], (notice) => {
        if (notice.kind === 'unreadable') totals.unreadable++;
        say(describeNotice(notice));
      })) {
        if (seenFiles.has(file.identity)) continue; // named twice: read once
        seenFiles.add(file.identity);
        const selected = selectedByPath(range, file.path);
        if (selected === true) yield localInput(file);
        else if (selected === 'unknown') listing.undated++;
        else listing.outsideRange++;
      }
      continue;
    }
    const opened: { archive?: BlobArchive } = {};
    try {
      const archive = await openArchive(source.location, {
        env: ctx.io.env,
        connectionString: ctx.settings.archiveConnectionString,
        managedIdentityClientId: ctx.settings.managedIdentityClientId,
        ...(ctx.blobClientOptions ? { clientOptions: ctx.blobClientOptions } : {}),
      });
      opened.archive = archive;
      for await (const item of listArchive(archive, range, listing, ctx.signal)) {
        const input = blobInput(archive, item);
        if (input.key !== undefined && seenBlobs.has(input.key)) continue; // under two URLs given: read once
        if (input.key !== undefined) seenBlobs.add(input.key);
        yield input;
      }
    } catch (error) {
      if (stopped()) return;
      totals.unreadable++;
      say(
        `cannot list ${source.location.display}${opened.archive ? ` (signed in with ${opened.archive.auth})` : ''}: ${errorText(error)}`,
      );
    }
  }
}
