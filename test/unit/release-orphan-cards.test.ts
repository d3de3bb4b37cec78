import { type OrphanCardPorts, releaseOrphanCards } from '../../src/commands/release-orphan-cards';
import { workflowIdOfKey } from '../../workflows/vocabulary';

/** Which card copies the sweep deletes, with plain objects for the vault, the records and Temporal. */
function world(records: Record<string, string | undefined>, workflows: Record<string, boolean | Error>) {
  const vault = new Map([
    ['vt_used', 'k:used'],
    ['vt_duplicate', 'k:used'],
    ['vt_never_started', 'k:none'],
    ['vt_not_yet_recorded', 'k:running'],
    ['vt_unknown', 'k:unreachable'],
    ['vt_legacy', 'k:legacy'],
  ]);
  const ports: OrphanCardPorts = {
    candidates: () => Promise.resolve([...vault].map(([token, paymentKey]) => ({ token, paymentKey }))),
    recordedToken: (key) => Promise.resolve(key in records ? records[key] : null),
    workflowExists: (key) => {
      const answer = workflows[key] ?? false;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    deleteCard: (token) => {
      vault.delete(token);
      return Promise.resolve();
    },
  };
  return { ports, vault };
}

it('deletes copies no payment uses, keeps the card of a payment and of a workflow not yet recorded', async () => {
  const w = world(
    { 'k:used': 'vt_used', 'k:legacy': undefined },
    { 'k:running': true, 'k:unreachable': new Error('14 UNAVAILABLE') },
  );
  expect(await releaseOrphanCards(w.ports, new Date())).toBe(2);
  expect([...w.vault.keys()].sort()).toEqual(['vt_legacy', 'vt_not_yet_recorded', 'vt_unknown', 'vt_used']);
});

it('finds the workflow of a payment key, colons in the Tid included', () => {
  expect(workflowIdOfKey('test:mer_abc:order-1')).toBe('payment-test-mer_abc-order-1');
  expect(workflowIdOfKey('live:mer_abc:2026:11:30')).toBe('payment-live-mer_abc-2026:11:30');
});
