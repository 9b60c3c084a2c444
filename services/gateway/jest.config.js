// The shared preset, plus: jose 6 and content-disposition 3 (under @fastify/swagger-ui's
// @fastify/static) ship ESM only, which jest's CommonJS runtime cannot load (Node 20.19+ loads
// them at run time via require(esm)); they go through a CommonJS transpile instead.
const path = require('node:path');
const preset = require('../../jest.preset.js');

const commonJsTransform = path.join(__dirname, 'jest.cjs-transform.js');

module.exports = {
  ...preset,
  transform: {
    ...preset.transform,
    '/node_modules/(jose|content-disposition)/.+\\.js$': commonJsTransform,
  },
  transformIgnorePatterns: ['/node_modules/(?!(jose|content-disposition)/)'],
};
