import { luhnValid } from './card';

/**
 * Finds card numbers where identifiers and free text belong (docs/fields.md, "Card numbers in other fields").
 * A value that reached a Tid or a Description would be copied into workflow ids, search attributes, webhooks and
 * logs, which must never hold a PAN.
 *
 * A card number is 13–19 digits passing Luhn, written in one piece or in groups of at most 6 digits separated by
 * spaces or dashes (`4111 1111-1111 1111`, `3782 822463 10005`), and standing on its own: not glued to a letter
 * on either side. Each run of consecutive groups is tried, so a prefix (`invoice-2024-4111111111111111`) cannot
 * hide a card. Leading zeros are not counted: no card number starts with 0 and they do not change the Luhn sum.
 *
 * What is not a card: digits inside a word (`a4111111111111111f`), and groups longer than 6 digits joined by
 * dashes. Those are how hex ids and UUIDs look; counting them refused about one random UUID in 370.
 * A run of more than 19 digits is a long number, and is not sliced into windows either.
 */
const DIGIT_RUN = /[0-9]+/g;
const GROUP_SEPARATOR = /^[\s-]+$/;
const LETTER = /[A-Za-z]/;
const MAX_GROUP = 6;

interface Run {
  digits: string;
  start: number;
  end: number;
}

export function containsCardNumber(value: string): boolean {
  const runs: Run[] = [...value.matchAll(DIGIT_RUN)].map((m) => ({
    digits: m[0],
    start: m.index,
    end: m.index + m[0].length,
  }));
  const gluedBefore = (run: Run) => LETTER.test(value[run.start - 1] ?? '');
  const gluedAfter = (run: Run) => LETTER.test(value[run.end] ?? '');
  const joins = (previous: Run, next: Run) => GROUP_SEPARATOR.test(value.slice(previous.end, next.start));

  for (let first = 0; first < runs.length; first++) {
    if (gluedBefore(runs[first]!)) continue;
    let digits = '';
    for (let last = first; last < runs.length; last++) {
      const run = runs[last]!;
      if (
        last > first &&
        (!joins(runs[last - 1]!, run) || run.digits.length > MAX_GROUP || runs[first]!.digits.length > MAX_GROUP)
      )
        break;
      digits += run.digits;
      const significant = digits.replace(/^0+/, '');
      if (significant.length > 19) break;
      if (significant.length >= 13 && !gluedAfter(run) && luhnValid(significant)) return true;
    }
  }
  return false;
}
