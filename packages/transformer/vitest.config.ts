import { sharedConfig } from '../../scripts/vitest.shared.js';

export default sharedConfig();
