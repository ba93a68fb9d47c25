// A result line over the line limit: told apart from other over-long lines without holding it, and
// turned into the run's failure (result_too_large) in the order of the stream.
import { describe, expect, it } from 'vitest';
import { classifyLine, LineSink, RESULT_TOO_LARGE, resultTooLarge } from '../../../engine/adapters/lines.ts';
import { LineSplitter, ResultLineScan } from '../../../engine/adapters/line-splitter.ts';

/** What the scan says of `line` read in pieces of `size` characters. */
function scan(line: string, size = line.length): boolean {
  const reader = new ResultLineScan();
  for (let at = 0; at < line.length; at += size) reader.push(line.slice(at, at + size));
  return reader.isResult();
}

const blob = 'x'.repeat(300);

describe('ResultLineScan', () => {
  // Each line is small enough for classifyLine too: the scan must agree with it.
  const cases: Array<[string, boolean]> = [
    [`{"result":"${blob}"}`, true],
    [`  {"result":{"deep":["${blob}",{"type":"tool"}]},"summary":"s"}`, true],
    [`{"summary":"${blob}","usage":{"result":1},"result":{"ok":true}}`, true], // result after other keys
    [`{"type":"result","result":"${blob}"}`, true],
    [`{"type":5,"result":"${blob}"}`, true], // a type that is not a string does not count
    [`{"res\\u0075lt":"${blob}"}`, true], // an escaped key is still "result"
    [`{"type":"tool.result","result":"${blob}"}`, false], // an event carrying a result field
    [`{"result":"${blob}","type":"tool"}`, false], // the type comes after it
    [`{"type":"tool","type":"result","result":1}`, true], // the last duplicate wins, as in JSON.parse
    [`{"a":{"result":"${blob}"}}`, false], // not at the top level
    [`{"a":"\\"result\\": \\"${blob}"}`, false], // only inside a string
    [`{"resultx":"${blob}"}`, false],
    [`["result","${blob}"]`, false],
    [`result: ${blob}`, false],
    [`{"result":"${blob}"} trailing`, false], // JSON.parse refuses it
    [`{"result":"${blob}"}  `, true],
    [`{"${'k'.repeat(100)}":"${blob}","result":1}`, true], // a long key is skipped, not taken for another
  ];

  it.each(cases)('%#: agrees with classifyLine, whole and in pieces', (line, expected) => {
    expect(classifyLine(line).kind === 'result').toBe(expected);
    for (const size of [line.length, 7, 1]) expect(scan(line, size)).toBe(expected);
  });

  it('a result line cut off before its end still counts: it was meant as the result', () => {
    expect(scan(`{"summary":"s","result":{"blob":"${blob}`)).toBe(true);
    expect(scan(`{"summary":"${blob}`)).toBe(false);
    expect(scan('')).toBe(false);
  });
});

describe('LineSplitter and LineSink: a result line over the limit', () => {
  const sink = () => {
    const logs: string[] = [];
    const events: string[] = [];
    const lineSink = new LineSink({ onLog: (_stream, chunk) => void logs.push(chunk), onEvent: (event) => void events.push(event.type) });
    return { lineSink, logs, events };
  };
  const feed = (splitter: LineSplitter, lineSink: LineSink, text: string, size = 64) => {
    for (let at = 0; at < text.length; at += size) lineSink.lines(splitter.push(text.slice(at, at + size)));
    lineSink.lines(splitter.end());
  };

  it('fails the run with result_too_large, naming the limit; its text is still logged', () => {
    const { lineSink, logs } = sink();
    const line = `{"summary":"big","result":{"blob":"${'x'.repeat(1_000)}"}}`;
    feed(lineSink.splitter(256), lineSink, `before\n${line}\n{"type":"after"}\n`);
    expect(lineSink.result).toEqual({ errorCode: RESULT_TOO_LARGE, errorMessage: expect.stringContaining('256 characters') });
    expect(logs.join('').replaceAll('\n', '')).toBe(`before${line}`);
    expect(resultTooLarge().errorMessage).toBe('The result line is over the 4 MiB line limit: it was logged in pieces, not read as the result');
  });

  it('also when the over-long result line is the last, without a newline', () => {
    const { lineSink } = sink();
    feed(lineSink.splitter(256), lineSink, `{"result":"${'x'.repeat(1_000)}"}`);
    expect(lineSink.result?.errorCode).toBe(RESULT_TOO_LARGE);
  });

  it('a result line after it replaces it, like any later result line; one before it does not', () => {
    const big = `{"result":"${'x'.repeat(1_000)}"}`;
    const later = sink();
    feed(later.lineSink.splitter(256), later.lineSink, `${big}\n{"result":{"ok":true}}\n`, 300);
    expect(later.lineSink.result).toEqual({ resultJson: { ok: true } });
    const earlier = sink();
    feed(earlier.lineSink.splitter(256), earlier.lineSink, `{"result":{"ok":true}}\n${big}\n`, 300);
    expect(earlier.lineSink.result?.errorCode).toBe(RESULT_TOO_LARGE);
  });

  it('other over-long lines stay log output; a result line within the limit is read', () => {
    const { lineSink, events } = sink();
    const long = 'y'.repeat(1_000);
    feed(lineSink.splitter(256), lineSink, `${long}\n{"type":"tool","result":"${long}"}\n{"result":{"ok":1}}\n`);
    expect(lineSink.result).toEqual({ resultJson: { ok: 1 } });
    expect(events).toEqual([]); // the over-long event was logged in pieces, as before
  });

  it('a splitter made without the sink only splits', () => {
    const splitter = new LineSplitter(100);
    const lines = [...splitter.push(`{"result":"${'x'.repeat(300)}"}\n`), ...splitter.end()];
    expect(lines.join('')).toBe(`{"result":"${'x'.repeat(300)}"}`);
  });
});
