import { setupTmpRoot } from './tmpRoot';

export default setupTmpRoot;
