/**
 * The topic catalogue names each topic's consuming services, and the sync-monitor expects an
 * acknowledgement from every one of them: a service listed but not consuming makes every event of
 * the topic escalate after the business SLA (identity.customer-status listed catalog-sync once, and
 * each customer registration or tier change raised a false escalation with notices to customers).
 * So the catalogue must say exactly what the services' code subscribes to. A service's handlers are
 * the `'<topic>': handler` entries of its source; the sync-monitor (which consumes every tracked
 * topic by design) and the benchmark's probe consumer are left out.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { catalogue } from '@omnimall/contracts';

const SERVICES_DIR = join(__dirname, '..', '..', 'services');
const NOT_COMPARED = new Set(['sync-monitor', 'bench']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Topic → the services whose source registers a handler for it. */
function subscriptions(): Map<string, Set<string>> {
  const topics = new Set(catalogue.map((t) => t.name));
  const out = new Map<string, Set<string>>();
  for (const service of readdirSync(SERVICES_DIR)) {
    if (NOT_COMPARED.has(service) || !statSync(join(SERVICES_DIR, service)).isDirectory()) continue;
    for (const file of sources(join(SERVICES_DIR, service, 'src'))) {
      for (const [, topic] of readFileSync(file, 'utf8').matchAll(/'([a-z]+\.[a-z-]+)'\s*:/g)) {
        if (!topics.has(topic)) continue;
        out.set(topic, (out.get(topic) ?? new Set()).add(service));
      }
    }
  }
  return out;
}

describe('the topic catalogue and the services', () => {
  const subscribed = subscriptions();

  it.each(catalogue.map((t) => [t.name, t] as const))('%s: the declared consumers are the services that subscribe', (_, topic) => {
    const declared = topic.consumers.filter((c) => !NOT_COMPARED.has(c)).sort();
    expect([...(subscribed.get(topic.name) ?? [])].sort()).toEqual(declared);
  });

  it('finds the subscriptions it compares (the scan is not blind)', () => {
    expect([...(subscribed.get('cart.cart-changed') ?? [])].sort()).toEqual(['cart', 'channels']);
    expect(subscribed.get('identity.customer-status')?.has('cart')).toBe(true);
  });
});
