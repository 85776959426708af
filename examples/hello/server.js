// A hello-world HTTP server for `npm start`: run under qilin, edit this file, and watch the workers reload.
import http from 'node:http';

const port = Number(process.env.PORT || 8000);
const message = 'Hello from Qilin';

http
  .createServer((request, response) => {
    response.end(`${message}: worker ${process.env.WORKER_ID} (pid ${process.pid}, generation ${process.env.QILIN_GENERATION})\n`);
  })
  .listen(port, () => {
    if (process.env.WORKER_ID === '0' && process.env.QILIN_GENERATION === '0') {
      console.log(`Listening on http://localhost:${port}/ (try: curl localhost:${port}; edit examples/hello/server.js to reload)`);
    }
  });
