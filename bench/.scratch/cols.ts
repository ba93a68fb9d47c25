import { getColumns } from 'drizzle-orm';
import { heartbeatRuns } from '../../db/schema.ts';
const cols = getColumns(heartbeatRuns) as any;
for (const [k, c] of Object.entries(cols).slice(0, 8)) console.log(k, (c as any).name, (c as any).columnType, typeof (c as any).mapFromDriverValue);
