// The client sends each operation as graphql-js prints it (urql prints the
// generated document), and the server trusts a document by the SHA-256 of its
// file's text (manage.py trusted_documents). So every operations/*.graphql
// must be exactly its printed form, one named operation per file named after
// it. `--write` rewrites the files into that form.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, print } from "graphql";
import { stringifyDocument } from "@urql/core";

const dir = new URL("../operations/", import.meta.url).pathname;
const write = process.argv.includes("--write");
let bad = 0;
for (const name of readdirSync(dir).filter((f) => f.endsWith(".graphql")).sort()) {
  const path = join(dir, name);
  const text = readFileSync(path, "utf8");
  const doc = parse(text);
  const ops = doc.definitions.filter((d) => d.kind === "OperationDefinition");
  if (doc.definitions.length !== 1 || ops.length !== 1 || `${ops[0].name?.value}.graphql` !== name) {
    console.error(`${name}: must hold one operation, named after the file`);
    bad++;
    continue;
  }
  const printed = print(doc) + "\n";
  // What urql will send for the generated document (it prints ASTs itself).
  const sent = stringifyDocument(parse(text, { noLocation: true }));
  if (text !== printed || sent !== text.trim()) {
    if (write) {
      writeFileSync(path, printed);
      console.log(`formatted ${name}`);
    } else {
      console.error(`${name}: not in printed form (run \`npm run format-operations\`)`);
      bad++;
    }
  }
}
if (bad) process.exit(1);
