// Sandboxed processor fixture: BullMQ forks a child process and loads this file in it.
'use strict';
module.exports = async function square(job) {
  return { square: job.data.n * job.data.n, pid: process.pid };
};
