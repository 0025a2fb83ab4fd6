// Prints a TCP port on 127.0.0.1 that was free a moment ago, for starting test servers side by side.
const net = require('node:net');

const server = net.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  server.close(() => process.stdout.write(`${port}\n`));
});
