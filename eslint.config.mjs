import js from '@eslint/js';
import tseslint from 'typescript-eslint';


/**
 * The rooms of ARCHITECTURE.md: what each part of the code may import. A room reaches another only through
 * its `@daylog/…` entry, never by a relative path into it; SQL drivers stay in their engine's adapter.
 */
const LEAVES_ROOM = { regex: '^\\.\\.?/(.*/)?(apps|libs|src)/', message: 'import another room through its @daylog/… entry, not a path into it' };
const SQL_DRIVERS = ['better-sqlite3', 'pg', 'pg-copy-streams'];

function room(files, { may, drivers = [] }) {
  const ours = may.length === 0 ? '^@daylog/' : `^@daylog/(?!(${may.join('|')})(/|$))`;
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: SQL_DRIVERS.filter((driver) => !drivers.includes(driver)).map((name) => ({ name, message: 'SQL drivers belong to their engine adapter (libs/storage-<engine>)' })),
          patterns: [{ regex: ours, message: `this room may import ${may.length ? may.map((lib) => `@daylog/${lib}`).join(', ') : 'nothing of ours'} (ARCHITECTURE.md)` }, LEAVES_ROOM],
        },
      ],
    },
  };
}

const ROOMS = [
  room(['libs/log-model/**/*.ts'], { may: [] }),
  room(['libs/config/**/*.ts'], { may: ['log-model'] }),
  room(['libs/storage/**/*.ts'], { may: ['log-model'] }),
  room(['libs/storage-sqlite/**/*.ts'], { may: ['log-model', 'storage'], drivers: ['better-sqlite3'] }),
  room(['libs/storage-postgres/**/*.ts'], { may: ['log-model', 'storage'], drivers: ['pg', 'pg-copy-streams'] }),
  room(['libs/loki/**/*.ts'], { may: ['log-model', 'storage'] }),
  room(['libs/shipper/**/*.ts'], { may: ['log-model', 'config'] }),
  room(['apps/aggregator/**/*.ts'], { may: ['log-model', 'config', 'storage', 'storage-sqlite', 'storage-postgres', 'loki'] }),
  room(['apps/shipper/**/*.ts'], { may: ['log-model', 'config', 'shipper'] }),
  // The web view runs in a browser: it reads Daylog through its HTTP API alone.
  room(['apps/web/**/*.ts', 'apps/web/**/*.tsx'], { may: [] }),
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // node:test's describe/it return promises the runner awaits; supertest bodies are untyped JSON.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'before', 'after'] }] },
      ],
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  ...ROOMS,
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
