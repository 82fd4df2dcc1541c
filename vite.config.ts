import { defineConfig } from 'vite';

// The renderer bundle: React + Monaco, built offline. base './' because Electron serves it
// from app://workbench/ and the bridge from http://127.0.0.1:PORT/.
export default defineConfig({
  root: 'renderer',
  base: './',
  build: {
    outDir: '../build/renderer',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      onwarn(warning, warn) {
        // React libraries mark modules "use client" for server components; meaningless in a bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  esbuild: { jsx: 'automatic' },
});
