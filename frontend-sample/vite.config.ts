import { defineConfig } from "vite";

// Served under /app/ (by the app's router, or nginx from this dist/ folder).
// `npm run dev` proxies the API to the `make up` stack.
export default defineConfig({
  base: "/app/",
  build: { outDir: "dist", target: "es2020", sourcemap: false, reportCompressedSize: false },
  server: { proxy: { "/graphql": "http://127.0.0.1:8000" } },
});
