// Prints one plain summary line from Jest's --json output: node print-test-summary.cjs RESULTS.json
const results = require(require('node:path').resolve(process.argv[2]));
process.stdout.write(`tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed\n`);
