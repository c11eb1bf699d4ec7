// Runs before each test file: picks the backend named by DL_BACKEND (cpu, wasm or webgpu).
import { setupTestBackend } from '@dl/core/testing';

await setupTestBackend();
