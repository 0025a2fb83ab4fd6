// Fails with the fix named when the Node.js running this script is older than 24.9.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 9)) {
  process.stderr.write(
    `Node.js ${process.versions.node} is too old: this project needs 24.9 or newer. ` +
      'Run `npm ci` (it installs the node@24 package) and use the Makefile targets, which put ' +
      'node_modules/.bin first in PATH.\n',
  );
  process.exit(1);
}
