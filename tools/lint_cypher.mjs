// Lint Cypher files with Neo4j's official linter (@neo4j-cypher/language-support).
// usage: node tools/lint_cypher.mjs SCHEMA.json FILE.cypher...  (after `npm install --prefix tools`)
// Prints one JSON object: {file: [{severity, message, line, column}]}; exits 1 on errors, 2 without the linter.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);  // resolves tools/node_modules
let lib;
try {
  lib = require("@neo4j-cypher/language-support");
} catch (error) {
  console.error("cannot load @neo4j-cypher/language-support: " + error.message);
  process.exit(2);
}
const [schemaPath, ...files] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const report = {};
let errors = 0;
for (const file of files) {
  const text = readFileSync(file, "utf8");
  // multi-statement files (schema/) are linted statement by statement
  const statements = text.split(/;\s*$/m).filter((s) => s.replace(/\/\/.*$/gm, "").trim());
  report[file] = [];
  let offsetLines = 0;
  for (const statement of statements) {
    const { diagnostics } = lib.lintCypherQuery(statement, schema);
    for (const d of diagnostics.filter(lib.isNotParamError)) {
      if (d.severity === 1) errors += 1;
      report[file].push({
        severity: d.severity === 1 ? "error" : "warning",
        message: d.message,
        line: d.range.start.line + 1 + offsetLines,
        column: d.range.start.character + 1,
      });
    }
    offsetLines += statement.split("\n").length - 1;
  }
}
console.log(JSON.stringify(report, null, 1));
process.exit(errors ? 1 : 0);
