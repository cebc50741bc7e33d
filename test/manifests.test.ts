/**
 * Every service's event manifest (`src/events/index.ts`) against the topic catalogue
 * (schemas/topics.yaml), both ways. The manifest is what the service's start registers schemas for
 * and what the kit holds its subscriptions to (a handler for an undeclared topic fails the start);
 * the catalogue is what the sync-monitor expects acknowledgements from. A consumer listed in the
 * catalogue but not subscribing makes every event of the topic escalate after its SLA (once,
 * identity.customer-status listed catalog-sync, and each registration raised a false escalation with
 * notices to customers); a subscription the catalogue does not list is never waited for.
 */
import { catalogue, type TopicSpec } from '@omnimall/contracts';
import { KIT_PRODUCED, type EventManifest } from '@omnimall/service-kit';
import { manifest as cart } from '../services/cart/src/events';
import { manifest as catalogSync } from '../services/catalog-sync/src/events';
import { manifest as channels } from '../services/channels/src/events';
import { manifest as identity } from '../services/identity/src/events';
import { manifest as inventory } from '../services/inventory/src/events';
import { manifest as promotions } from '../services/promotions/src/events';
import { manifest as syncMonitor } from '../services/sync-monitor/src/events';

const manifests: Record<string, EventManifest> = {
  identity,
  channels,
  'catalog-sync': catalogSync,
  cart,
  inventory,
  promotions,
  'sync-monitor': syncMonitor,
};

/**
 * Who may list a topic under `produces`: its catalogue producer; for a partner topic (produced by
 * partner systems), the service that consumes it, which registers its schema to re-encode invalid
 * records for the dead-letter topic. `sync.applied`, `platform.exception` and `platform.job-progress`
 * are every service's (`producer: every service`) and added by the kit (KIT_PRODUCED), never listed by a manifest.
 */
function mayProduce(topic: TopicSpec, service: string): boolean {
  if (topic.producer === service) return true;
  return topic.producer === 'partner systems' && topic.consumers.includes(service);
}

/** Compares two lists as sets, reporting what each lacks. */
function difference(actual: readonly string[], expected: readonly string[]): { missing: string[]; extra: string[] } {
  return {
    missing: expected.filter((t) => !actual.includes(t)).sort(),
    extra: actual.filter((t) => !expected.includes(t)).sort(),
  };
}

/** The consumers each manifest must declare, from the catalogue. */
function consumedPerCatalogue(service: string, topics: readonly TopicSpec[] = catalogue): string[] {
  return topics.filter((t) => t.consumers.includes(service)).map((t) => t.name);
}

/** The topics each manifest must declare it produces, from the catalogue. */
function producedPerCatalogue(service: string, topics: readonly TopicSpec[] = catalogue): string[] {
  return topics.filter((t) => t.producer === service).map((t) => t.name);
}

describe('event manifests and the topic catalogue', () => {
  const byName = new Map(catalogue.map((t) => [t.name, t]));

  it.each(Object.keys(manifests))('%s consumes exactly the topics the catalogue lists it as a consumer of', (service) => {
    expect(difference(manifests[service].consumes, consumedPerCatalogue(service))).toEqual({ missing: [], extra: [] });
  });

  it.each(Object.keys(manifests))('%s produces the topics the catalogue names it the producer of, and only those it may', (service) => {
    const m = manifests[service];
    expect(difference(m.produces, producedPerCatalogue(service)).missing).toEqual([]);
    const foreign = m.produces.filter((t) => !byName.has(t) || !mayProduce(byName.get(t)!, service));
    expect(foreign).toEqual([]);
  });

  it('fails a manifest that consumes a topic the catalogue does not list for the service', () => {
    // The check above, on a manifest made wrong on purpose: cart subscribing to channels.notification.
    const wrong = { ...cart, consumes: [...cart.consumes, 'channels.notification' as const] };
    expect(difference(wrong.consumes, consumedPerCatalogue('cart'))).toEqual({ missing: [], extra: ['channels.notification'] });
    // And a catalogue that lists a consumer the manifest lacks.
    const listed = catalogue.map((t) => (t.name === 'catalog.conflict' ? { ...t, consumers: [...t.consumers, 'cart'] } : t));
    expect(difference(cart.consumes, consumedPerCatalogue('cart', listed)).missing).toEqual(['catalog.conflict']);
  });

  it("the kit produces every topic whose catalogue producer is 'every service' (sync.applied, platform.exception, platform.job-progress)", () => {
    const everyService = catalogue.filter((t) => t.producer === 'every service').map((t) => t.name);
    expect(everyService).toEqual(expect.arrayContaining(['sync.applied', 'platform.exception', 'platform.job-progress']));
    expect(difference([...KIT_PRODUCED], everyService)).toEqual({ missing: [], extra: [] });
  });

  it('reads real manifests (the comparison is not blind)', () => {
    expect(cart.consumes).toContain('identity.customer-status');
    expect(channels.consumes).toContain('cart.cart-changed');
    expect(identity.produces).toContain('identity.customer-status');
  });
});
