// A mistyped command is named as such. `serve` is the default command, so commander alone would hand
// the word to it and answer "too many arguments for 'serve'".
import type { Command } from 'commander';

/** The line to print when the command `args` start with names no command of `program`; undefined when it does (or names none). */
export function unknownCommandMessage(program: Command, args: string[]): string | undefined {
  // What comes before the command word are the program's own options (--url X, --api-key K).
  const [word] = program.parseOptions([...args]).operands;
  if (word === undefined) return undefined;
  const names = [...program.commands.flatMap((command) => [command.name(), ...command.aliases()]), 'help'];
  if (names.includes(word)) return undefined;
  const suggestion = closestName(word, names);
  return `unknown command '${word}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}; see heartbeat --help`;
}

/** Exits with code 1 and one line on stderr when `args` start with a word that is no command. */
export function rejectUnknownCommand(program: Command, args: string[]): void {
  const message = unknownCommandMessage(program, args);
  if (!message) return;
  process.stderr.write(`heartbeat: ${message}\n`);
  process.exit(1);
}

/** The name a typo most likely meant: a third of its letters wrong at most (swapped neighbours count once). */
export function closestName(word: string, names: string[]): string | undefined {
  const allowed = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(word.toLowerCase(), name);
    if (distance <= allowed && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Insertions, deletions, substitutions and swaps of neighbours (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
