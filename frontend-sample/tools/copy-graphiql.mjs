// GraphiQL's files, from npm, into dist/graphiql/: the app serves them at
// /static/graphiql/ (and nginx can, from disk), so GraphiQL needs no CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = dirname(new URL(import.meta.url).pathname);
const out = join(root, "..", "dist", "graphiql");
const pkg = (name) => dirname(require.resolve(`${name}/package.json`));

const files = {
  "react.production.min.js": join(pkg("react"), "umd", "react.production.min.js"),
  "react-dom.production.min.js": join(pkg("react-dom"), "umd", "react-dom.production.min.js"),
  "graphiql.min.js": join(pkg("graphiql"), "graphiql.min.js"),
  "graphiql.min.css": join(pkg("graphiql"), "graphiql.min.css"),
  "plugin-explorer.umd.js": join(pkg("@graphiql/plugin-explorer"), "dist", "index.umd.js"),
  "plugin-explorer.css": join(pkg("@graphiql/plugin-explorer"), "dist", "style.css"),
  "init.js": join(root, "..", "graphiql", "init.js"),
  "page.css": join(root, "..", "graphiql", "page.css"),
};
mkdirSync(out, { recursive: true });
for (const [name, from] of Object.entries(files)) copyFileSync(from, join(out, name));
console.log(`GraphiQL: ${Object.keys(files).length} files in ${out}`);
