// Tables are declared with camelCase keys and stored with snake_case names.
import { snakeCase } from 'drizzle-orm/pg-core';

export const pgTable = snakeCase.table;
