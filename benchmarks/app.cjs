// The app every system serves, unchanged: a naive hello-world server on $PORT.
const http = require('node:http');

http.createServer((req, res) => res.end('hello')).listen(Number(process.env.PORT));
