import { it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer } from '../support/server.ts';

it('probe', async () => {
  const server = await startTestServer();
  const auth = { authorization: `Bearer ${server.adminKey}` };
  const show = async (label: string, url: string, init: RequestInit) => {
    const r = await fetch(url, init);
    console.log(label, r.status, r.headers.get('content-type'), (await r.text()).slice(0, 300));
  };
  const u = server.graphqlUrl;
  await show('GET query', `${u}?query=${encodeURIComponent('{ viewer { name } }')}`, { headers: { ...auth, accept: 'application/graphql-response+json' } });
  await show('GET vars', `${u}?query=${encodeURIComponent('query($n:Int){ agents(first:$n){ edges { cursor } } }')}&variables=${encodeURIComponent('{"n":2}')}`, { headers: { ...auth } });
  await show('GET mutation', `${u}?query=${encodeURIComponent('mutation { createApiKey(name:"x") { id } }')}`, { headers: { ...auth, accept: 'application/graphql-response+json' } });
  const post = (accept: string, body: string, ct = 'application/json') => ({ method: 'POST', headers: { ...auth, accept, 'content-type': ct }, body });
  await show('parse grj', u, post('application/graphql-response+json', JSON.stringify({ query: '{ viewer {' })));
  await show('validate grj', u, post('application/graphql-response+json', JSON.stringify({ query: '{ nope }' })));
  await show('validate json', u, post('application/json', JSON.stringify({ query: '{ nope }' })));
  await show('exec err grj', u, post('application/graphql-response+json', JSON.stringify({ query: '{ viewer { name } agent(id: "garbage") { id } }' })));
  await show('406', u, post('text/xml', JSON.stringify({ query: '{ viewer { name } }' })));
  await show('415', u, post('application/json', 'query', 'text/xml'));
  await show('missing query', u, post('application/graphql-response+json', JSON.stringify({})));
  await show('malformed', u, post('application/graphql-response+json', '{"query":'));
  await show('html', u, { headers: { accept: 'text/html' } });
  await show('wrongvar', u, post('application/graphql-response+json', JSON.stringify({ query: 'query($n:Int){ agents(first:$n){ edges { cursor } } }', variables: { n: 'x' } })));
  // ws
  const frames = async (label: string, protocol: string | undefined, send: (ws: WebSocket) => void) => {
    const ws = new WebSocket(server.wsUrl, protocol ? [protocol] : undefined);
    const got: string[] = [];
    ws.on('message', (d) => got.push(String(d)));
    ws.on('open', () => send(ws));
    const code = await new Promise<number>((res) => { ws.on('close', (c) => res(c)); setTimeout(() => { ws.close(1000); }, 4000); });
    console.log(label, code, ws.protocol, got);
  };
  const init = JSON.stringify({ type: 'connection_init', payload: auth });
  const acked = (label: string, after: (ws: WebSocket) => void) => frames(label, 'graphql-transport-ws', (ws) => {
    ws.send(init);
    ws.once('message', () => after(ws));
  });
  await acked('wrongvar ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: 'query($n:Int){ agents(first:$n){ edges { cursor } } }', variables: { n: 'x' } } })));
  await acked('bad id ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: 'subscription { runStatus(runId: "garbage") { id } }' } })));
  await acked('notfound ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: 'subscription($r: ID) { runStatus(runId: $r) { id } }', variables: { r: Buffer.from('HeartbeatRun:00000000-0000-4000-8000-000000000000').toString('base64') } } })));
  await acked('opname ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ viewer { name } }', operationName: 'nope' } })));
  await acked('parse ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ viewer { ' } })));
  await acked('validate ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ nope }' } })));
  await acked('mutation viewer ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: 'mutation { createApiKey(name: "") { id } }' } })));
  await acked('deep ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ ' + 'viewer { '.repeat(1) + 'a: name b: name c: name d: name e: name f: name g: name h: name i: name j: name k: name l: name m: name n: name o: name p: name q: name r: name s: name t: name u: name v: name w: name }' + ' }' } })));
  await acked('binary ws', (ws) => ws.send(Buffer.from([0xff, 0xfe, 0x00, 0x01])));
  await acked('empty ws', (ws) => ws.send(''));
  await acked('big ws', (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ viewer { name } }', variables: { x: 'x'.repeat(5_000_000) } } })));
  await server.close();
}, 60_000);
