// Projects (docs/engine.md §13.4): a named group of issues, so that cost and budgets can be scoped to one.
import { and, asc, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { projects } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';
import { badInput, conflict, notFound } from '../model/errors.ts';

export type ProjectRow = typeof projects.$inferSelect;

const NAME_MAX = 200;

export async function createProject(deps: EngineDeps, input: { companyId: string; name: string }): Promise<ProjectRow> {
  const name = input.name.trim();
  if (name === '') throw badInput('name must not be empty', { field: 'name' });
  if (name.length > NAME_MAX) throw badInput(`name is longer than ${NAME_MAX} characters`, { field: 'name' });
  const now = deps.clock.now();
  const [created] = await deps.db.insert(projects).values({ companyId: input.companyId, name, createdAt: now, updatedAt: now }).onConflictDoNothing().returning();
  if (!created) throw conflict(`A project named ${JSON.stringify(name)} exists`, { field: 'name' });
  return created;
}

export function listProjects(deps: EngineDeps, companyId: string): Promise<ProjectRow[]> {
  return deps.db.select().from(projects).where(eq(projects.companyId, companyId)).orderBy(asc(projects.name), asc(projects.id));
}

/** The project, in the caller's company: another company's is not found. */
export async function findProject(db: Executor, companyId: string, projectId: string): Promise<ProjectRow> {
  const [project] = await db.select().from(projects).where(and(eq(projects.id, projectId), eq(projects.companyId, companyId)));
  if (!project) throw notFound('Project');
  return project;
}
