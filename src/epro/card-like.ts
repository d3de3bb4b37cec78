import { luhnValid } from './card';

/**
 * Finds card numbers where identifiers and free text belong (docs/fields.md, "Card numbers in other fields").
 * A value that reached a Tid or a Description would be copied into workflow ids, search attributes, webhooks and
 * logs, which must never hold a PAN.
 *
 * A card number is written as digit groups, optionally separated by spaces or dashes (`4111 1111-1111 1111`).
 * Every run of consecutive groups holding 13–19 digits in all is a candidate, and one that passes Luhn counts.
 * Trying each run of groups, not only the whole digit sequence, means a prefix glued on with a dash
 * (`invoice-2024-4111111111111111`) cannot hide a card. Leading zeros are not counted: no card number starts
 * with 0, they do not change the Luhn sum, and so `0000000000000` is not a card while `04111111111111111` is. A
 * run with more than 19 digits left is a long number, not a card, and is not sliced: any long number would
 * otherwise contain some Luhn-valid window.
 */
const DIGIT_SEQUENCE = /[0-9]+(?:[\s-]+[0-9]+)*/g;
const GROUP_SEPARATOR = /[\s-]+/;

export function containsCardNumber(value: string): boolean {
  for (const [sequence] of value.matchAll(DIGIT_SEQUENCE)) {
    const groups = sequence.split(GROUP_SEPARATOR);
    for (let first = 0; first < groups.length; first++) {
      let digits = '';
      for (let last = first; last < groups.length; last++) {
        digits += groups[last];
        const significant = digits.replace(/^0+/, '');
        if (significant.length > 19) break;
        if (significant.length >= 13 && luhnValid(significant)) return true;
      }
    }
  }
  return false;
}
