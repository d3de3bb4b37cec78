/**
 * The worker's sweep of card copies that no payment uses (docs/architecture.md, "Who guards a Tid"). A payment
 * request vaults the card before it starts the workflow; if the request dies between the two (an API killed, a
 * start refused as a duplicate whose answer was lost), the copy has no payment. The workflow's record names the
 * vault entry it uses, so once a request is surely over, a copy of a key is an orphan when:
 *   - the key has a record that names another entry (a duplicate's copy), or
 *   - the key has no record and Temporal confirms no workflow for it (the start never landed).
 * A key without a record whose workflow exists is kept: the workflow has not written its record yet (a worker
 * that is down), and it will need the card. When Temporal cannot tell, the copy is kept too; it still expires.
 */
export interface OrphanCardPorts {
  /** Vault entries created before `before`: only requests that are surely over. */
  candidates(before: Date): Promise<{ token: string; paymentKey: string }[]>;
  /** The vault token the payment's record names; null without a record, undefined for a record of an older version. */
  recordedToken(paymentKey: string): Promise<string | null | undefined>;
  /** Whether Temporal has the workflow of this payment key; throws when it cannot be known. */
  workflowExists(paymentKey: string): Promise<boolean>;
  deleteCard(token: string): Promise<void>;
}

export async function releaseOrphanCards(ports: OrphanCardPorts, requestsOverBefore: Date): Promise<number> {
  let released = 0;
  for (const { token, paymentKey } of await ports.candidates(requestsOverBefore)) {
    const recorded = await ports.recordedToken(paymentKey);
    let orphan: boolean;
    if (recorded === undefined) orphan = false;
    else if (recorded !== null) orphan = recorded !== token;
    else orphan = (await ports.workflowExists(paymentKey).catch(() => true)) === false;
    if (orphan) {
      await ports.deleteCard(token);
      released++;
    }
  }
  return released;
}
