/**
 * One jest run for the whole monorepo. Tests import workspace packages from their TypeScript sources
 * (moduleNameMapper), so `make test` does not depend on a prior build; `make lint` type-checks them (tsconfig.check.json).
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services', '<rootDir>/deploy', '<rootDir>/test', '<rootDir>/e2e'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  moduleNameMapper: {
    '^@omnimall/([a-z-]+)$': '<rootDir>/packages/$1/src',
    '^@omnimall/([a-z-]+)/(.+)$': '<rootDir>/packages/$1/src/$2',
  },
  setupFiles: ['<rootDir>/jest.setup.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
