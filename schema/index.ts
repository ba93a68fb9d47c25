// Assembles the schema: importing a type module registers its types on the builder.
import { builder } from './builder.ts';
import './enums.ts';
import './company.ts';
import './agent.ts';
import './issue.ts';
import './run.ts';
import './query.ts';

export const schema = builder.toSchema({ sortSchema: true });
