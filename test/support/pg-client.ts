// A plain postgres.js client for tests that read a database they did not create through the helpers.
import postgresJs from 'postgres';

export const postgres = (url: string) => postgresJs(url, { max: 2, onnotice: () => {} });
