// Who may create host agents and what they may run: the pure rule.
import { describe, expect, it } from 'vitest';
import { hostAdapterRefusalFor, hostAdapterRefusalToRun, hostCommandOf, parseHostAdapterPolicy } from '../../../engine/rules/host-adapters.ts';

describe('host adapters', () => {
  const admins = parseHostAdapterPolicy(undefined, undefined);
  const operators = parseHostAdapterPolicy('operator', undefined);
  const off = parseHostAdapterPolicy('OFF', undefined);
  const listed = parseHostAdapterPolicy('operator', 'claude, /usr/local/bin/agent');

  it('reads the settings: admins by default, any command; a bad level is named', () => {
    expect(admins).toEqual({ access: 'admin', commands: null });
    expect(off.access).toBe('off');
    expect(listed.commands).toEqual(['claude', '/usr/local/bin/agent']);
    expect(parseHostAdapterPolicy('admin', ' ').commands).toBeNull();
    expect(() => parseHostAdapterPolicy('root', undefined)).toThrow('HEARTBEAT_HOST_ADAPTERS must be admin, operator or off');
  });

  it('limits host agents by role, and never the others', () => {
    expect(hostAdapterRefusalFor(admins, 'process', { command: 'id' }, 'operator')).toContain('HEARTBEAT_HOST_ADAPTERS=admin');
    expect(hostAdapterRefusalFor(admins, 'process', { command: 'id' }, 'admin')).toBeNull();
    expect(hostAdapterRefusalFor(operators, 'codex', {}, 'operator')).toBeNull();
    expect(hostAdapterRefusalFor(off, 'claude_code', {}, 'admin')).toContain('HEARTBEAT_HOST_ADAPTERS=off');
    for (const type of ['script', 'http'] as const) expect(hostAdapterRefusalFor(off, type, {}, 'operator')).toBeNull();
  });

  it('checks the command, a coding CLI by its default when none is set', () => {
    expect(hostCommandOf('claude_code', {})).toBe('claude');
    expect(hostCommandOf('codex', { command: '/opt/codex' })).toBe('/opt/codex');
    expect(hostCommandOf('http', { command: 'x' })).toBeNull();
    expect(hostAdapterRefusalFor(listed, 'claude_code', {}, 'operator')).toBeNull();
    expect(hostAdapterRefusalFor(listed, 'codex', {}, 'operator')).toContain('"codex" is not on');
    expect(hostAdapterRefusalFor(listed, 'process', { command: '/tmp/claude' }, 'operator')).toContain('HEARTBEAT_HOST_COMMANDS');
    expect(hostAdapterRefusalFor(listed, 'process', { command: '/usr/local/bin/agent' }, 'operator')).toBeNull();
  });

  it('at run time, asks only what can have changed since the agent was made: off, or the list', () => {
    expect(hostAdapterRefusalToRun(admins, 'process', { command: 'id' })).toBeNull();
    expect(hostAdapterRefusalToRun(off, 'process', { command: 'id' })).toContain('off');
    expect(hostAdapterRefusalToRun(listed, 'process', { command: 'id' })).toContain('HEARTBEAT_HOST_COMMANDS');
    expect(hostAdapterRefusalToRun(off, 'script', {})).toBeNull();
  });
});
