// Flat ESLint config for the whole monorepo: typescript-eslint's recommended rules, no type checking
// here (tsc -b does that), generated and built files ignored.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const globals = require('globals');

module.exports = tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'packages/contracts/src/generated/**', '.local-data/**', 'coverage/**', 'charts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  // Dashboard pages run in the browser.
  { files: ['services/*/public/**/*.js'], languageOptions: { globals: { ...globals.browser }, sourceType: 'script' } },
);
