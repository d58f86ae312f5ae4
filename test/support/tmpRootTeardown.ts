import { teardownTmpRoot } from './tmpRoot';

export default teardownTmpRoot;
