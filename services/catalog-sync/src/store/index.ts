import type { ServiceRuntime } from '@omnimall/service-kit';
import type { Conflict, StagedDiff } from '../domain/records';
import { MongoAssignmentRepository, type AssignmentRepository } from './assignments';
import { MongoBulkJobRepository, type BulkJobRepository } from './bulk-jobs';
import { MongoChannelRepository, type ChannelRepository } from './channels';
import { MongoCurationRecords, type ConflictRepository, type StagedDiffRepository } from './curation';
import { MongoEvidenceRepository, type EvidenceRepository } from './evidence';
import { MongoIntentRepository, type IntentRepository } from './intents';
import { MongoItemRepository, type ItemRepository } from './items';
import { MongoJournal, type Journal } from './journal';
import { catalogModels } from './models';
import { MongoProductRepository, type ProductRepository } from './products';
import { MongoRateRepository, type RateRepository } from './rates';
import { MongoRefusalRepository, type RefusalRepository } from './refusals';
import { MongoRuleRepository, type RuleRepository } from './rules';
import { MongoSkuClaimRepository, type SkuClaimRepository } from './sku-claims';
import { MongoStockRepository, type StockRepository } from './stock';

export type { AssignmentRepository, ChannelRepository, ConflictRepository, EvidenceRepository, IntentRepository, ItemRepository };
export type { Journal, ProductRepository, RateRepository, RefusalRepository, RuleRepository, StagedDiffRepository };
export type { BulkJobRepository, JobProgress } from './bulk-jobs';
export type { SkuClaimRepository, StockRepository };
export type { OnceContext } from './channels';
export type { ItemWrite } from './items';
export type { ProductFields } from './products';

/** Every repository of the `catalog` database, one per aggregate. */
export interface CatalogStore {
  products: ProductRepository;
  assignments: AssignmentRepository;
  items: ItemRepository;
  evidence: EvidenceRepository;
  conflicts: ConflictRepository;
  diffs: StagedDiffRepository;
  refusals: RefusalRepository;
  channels: ChannelRepository;
  stock: StockRepository;
  rules: RuleRepository;
  rates: RateRepository;
  journal: Journal;
  intents: IntentRepository;
  claims: SkuClaimRepository;
  jobs: BulkJobRepository;
}

/**
 * Builds the repositories on the runtime's database: registers the journal with the outbox relay
 * (the only collection whose documents carry events) and creates every collection. Each call has its own
 * caches (items, tables): a second call stands for a second instance on the same database.
 */
export async function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): Promise<CatalogStore> {
  const m = catalogModels(runtime.db);
  runtime.outbox.track(m.Journal);
  await Promise.all(Object.values(m).map((model) => model.createCollection().catch(() => undefined)));
  return {
    products: new MongoProductRepository(m.Product),
    assignments: new MongoAssignmentRepository(m.Assignment),
    items: new MongoItemRepository(m.LocalItem),
    evidence: new MongoEvidenceRepository(m.Evidence),
    conflicts: new MongoCurationRecords<Conflict>(m.Conflict),
    diffs: new MongoCurationRecords<StagedDiff>(m.StagedDiff),
    refusals: new MongoRefusalRepository(m.Refusal),
    channels: new MongoChannelRepository(m.Channel),
    stock: new MongoStockRepository(m.StockLevel),
    rules: new MongoRuleRepository(m.RuleSet),
    rates: new MongoRateRepository(m.RateTable),
    journal: new MongoJournal(m.Journal, runtime.outbox),
    intents: new MongoIntentRepository(m.Pending),
    claims: new MongoSkuClaimRepository(m.SkuClaim),
    jobs: new MongoBulkJobRepository(m.BulkJob),
  };
}
