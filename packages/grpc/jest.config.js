module.exports = require('@strata/testing/jest-preset');
