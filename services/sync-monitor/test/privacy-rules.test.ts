/** Pure rules of the monitor's customer data: who a record concerns, what an erasure leaves, retention cut-offs. */
import { customersOf, eraseTracking, ERASED_TEXT, retentionCutoffs, subjectsOf, withSubjects } from '../src/domain/privacy';
import { applyEnvelope, failedAck, type Tracking } from './support/tracking-fixture';

describe('which customers a tracked record concerns', () => {
  it('the ids its payload names: customer fields and customer recipients, deduplicated', () => {
    expect(customersOf({ orderId: 'o1', customerId: 'cus_1', channel: 'web' })).toEqual(['cus_1']);
    expect(customersOf({ sourceCustomerId: 'cus_a', targetCustomerId: 'cus_b', mergedBy: 'stf_1' })).toEqual(['cus_a', 'cus_b']);
    expect(customersOf({ recipientIds: ['cus_1', 'cus_2', 'cus_1'], customerId: 'cus_2' })).toEqual(['cus_1', 'cus_2']);
    // a partner's own customer id is not one of ours; empty and non-string values name nobody
    expect(customersOf({ partnerCustomerId: 'p-77', customerId: '', recipientIds: [1] })).toEqual([]);
    expect(customersOf(null)).toEqual([]);
  });

  it('the customers a list of recipient records names (cart.promotion-notice)', () => {
    const notice = {
      promotionId: 'p1',
      customers: [{ customerId: 'cus_1', channel: 'web' }, { customerId: 'cus_2', channel: null }, { channel: 'app' }],
    };
    expect(customersOf(notice)).toEqual(['cus_1', 'cus_2']);
  });

  it('plus the aggregate of a customer-keyed (identity) topic, kept across writes', () => {
    const none = { customers: [], relatedEvents: [] };
    const linked = applyEnvelope('identity.identity-linked', 'cus_9');
    expect(withSubjects(linked, none).customers).toEqual(['cus_9']);
    const order = withSubjects(applyEnvelope('orders.order-status', 'ord_1'), { customers: ['cus_3'], relatedEvents: [] });
    expect(order.customers).toEqual(['cus_3']);
    expect(withSubjects(order, { customers: ['cus_4'], relatedEvents: [] }).customers).toEqual(['cus_3', 'cus_4']);
    const product = applyEnvelope('catalog.local-item', 'web:sku-1');
    expect(withSubjects(product, none)).toBe(product);
  });

  it('and the event it was made from: a mapped partner status names the partner’s record', () => {
    const mapped = { orderId: 'ord_1', customerId: 'cus_5', partnerOrderId: 'po-1', sourceEventId: 'evt-partner-1' };
    expect(subjectsOf(mapped)).toEqual({ customers: ['cus_5'], relatedEvents: ['evt-partner-1'] });
    const t = withSubjects(applyEnvelope('channels.partner-order-status', 'ord_1'), subjectsOf(mapped));
    expect(t).toMatchObject({ customers: ['cus_5'], relatedEvents: ['evt-partner-1'] });
    // the partner's own record names its customer only by the partner's id: nobody of ours
    expect(subjectsOf({ partnerOrderId: 'po-1', partnerCustomerId: 'pc-9' })).toEqual({ customers: [], relatedEvents: [] });
  });
});

describe('erasing a tracked event', () => {
  const withData: Tracking = {
    ...applyEnvelope('identity.identity-linked', 'cus_1'),
    raw: { key: 'cus_1', value: Buffer.from('ada@example.com').toString('base64'), headers: { eventId: 'e1' } },
    acks: [
      failedAck('StoreUnavailable: ada@example.com not stored'),
      failedAck('could not reach Ada Lovelace'),
      failedAck('Bad <name> Ada: x'),
      failedAck(null),
    ],
    retries: [{ at: 1, service: 'cart', group: 'cart.p', attempt: 1, trigger: 'sla_sweep', outcome: 'send_failed', error: 'Err: Ada' }],
    actions: [{ actionId: 'c1', kind: 'support_case', at: 1, by: 'stf_1', note: 'Ada Lovelace called', outcome: 'opened' }],
  };

  it('drops the record and the notes, and keeps only the class of an error (never free text)', () => {
    const erased = eraseTracking(withData, 1234)!;
    expect(erased.raw).toBeNull();
    expect(erased.acks.map((a) => a.error)).toEqual([
      `StoreUnavailable: ${ERASED_TEXT}`,
      `unknown: ${ERASED_TEXT}`,
      `unknown: ${ERASED_TEXT}`,
      null,
    ]);
    expect(erased.retries[0].error).toBe(`Err: ${ERASED_TEXT}`);
    expect(erased.actions[0]).toMatchObject({ note: null, kind: 'support_case', by: 'stf_1' });
    expect(erased.erasedAt).toBe(1234);
    expect(JSON.stringify(erased)).not.toMatch(/Ada|ada@/);
    // ids, states and times stay: the tracking still tells what happened
    expect(erased).toMatchObject({ _id: withData._id, aggregateId: 'cus_1', state: withData.state, acks: expect.any(Array) });
  });

  it('a second erasure changes nothing', () => {
    expect(eraseTracking(eraseTracking(withData, 1)!, 2)).toBeNull();
    expect(eraseTracking({ ...withData, raw: null, acks: [], retries: [], actions: [] }, 3)).toBeNull();
  });
});

it('retention cut-offs: records after the raw retention, closed events after the event retention', () => {
  expect(retentionCutoffs({ rawRetentionMs: 3_600_000, eventRetentionMs: 86_400_000 }, 100_000_000)).toEqual({
    raw: 100_000_000 - 3_600_000,
    events: 100_000_000 - 86_400_000,
  });
});
