/*
 * The one import of zod in `src/`; import it as `import * as z from '../lib/zod'`. `zod/mini` is the same
 * validator as `zod` with a functional API a bundler can tree-shake: the function bundle carries only the
 * schemas it uses instead of all of zod, which was most of the entry's cold start (BENCHMARKS.md › Cold
 * start). ESLint forbids importing `zod` anywhere else in `src/`.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

// zod/mini configures no locale, so every issue would read "Invalid input". Operators read these messages.
config(en());

export * from 'zod/mini';
