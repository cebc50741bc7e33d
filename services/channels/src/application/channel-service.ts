/**
 * Use cases on the channel aggregate: registration, updates, lifecycle, checklists, configuration
 * overrides and reports. Each write is one rt.outbox.transact on the channel's
 * document, so the state change and its channels.channel-changed event commit together.
 * A retirement also publishes every key of the channel as channel_retired on
 * channels.channel-credentials in the same write (the keys' other changes: credential-service.ts).
 */
import { ConflictError, NotFoundError, UnprocessableError, type Logger, type Principal } from '@omnimall/service-kit';
import { configBlockReasons, decideOverride, effectiveConfig, type ConfigVersion } from '../domain/config';
import {
  commerceAllowed,
  decideChecklistItem,
  decideTransition,
  emptyChecklists,
  type ChecklistName,
  type LifecycleAction,
} from '../domain/lifecycle';
import type { RegisterChannelInput, UpdateChannelInput } from '../domain/registry';
import { overridesOf, type Channel, type OverrideLogEntry, type TransitionStep } from '../domain/channel';
import { changeLabel, channelChanged, type Cause, type ChannelChange } from '../events/out/channels.channel-changed';
import { credentialUpdates } from '../events/out/channels.channel-credentials';
import type { ChannelRepository, OverrideLog, TransitionLog } from '../store';
import type { ConfigStore } from './config-store';

export function channelNotFound(code: string): NotFoundError {
  return new NotFoundError('channel_not_found', `there is no channel ${code}`, 'GET /channels lists the channels you may see', {
    code,
    channel: code,
  });
}

/** What the API shows of a channel: no credential hashes, no outbox. */
export function channelView(doc: Channel): Record<string, unknown> {
  return {
    code: doc._id,
    name: doc.name,
    kind: doc.kind,
    branding: doc.branding,
    country: doc.country,
    region: doc.region,
    languages: doc.languages,
    currencies: doc.currencies,
    manager: doc.manager,
    masterChannel: doc.masterChannel,
    allowedDataRegions: doc.allowedDataRegions,
    state: doc.state,
    previousState: doc.previousState,
    expectedBackAt: doc.expectedBackAt,
    checklists: doc.checklists,
    blockReasons: doc.blockReasons,
    commerceAllowed: commerceAllowed(doc.state, doc.blockReasons),
    appliedConfigVersion: doc.appliedConfigVersion,
    overrides: overridesOf(doc),
    credentials: doc.credentials.map((c) => ({ keyId: c.keyId, createdAt: c.createdAt, revokedAt: c.revokedAt })),
    version: doc.version,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

interface Patch {
  set: Partial<Channel>;
  change: ChannelChange;
}

/** What the channel use cases write to. */
export interface ChannelStores {
  channels: ChannelRepository;
  transitions: TransitionLog;
  overrideLog: OverrideLog;
}

export class ChannelService {
  private readonly channels: ChannelRepository;

  constructor(
    private readonly store: ChannelStores,
    private readonly config: ConfigStore,
    private readonly logger: Logger,
  ) {
    this.channels = store.channels;
  }

  async get(code: string): Promise<Channel> {
    const doc = await this.channels.get(code);
    if (!doc) throw channelNotFound(code);
    return doc;
  }

  async list(scope: Principal): Promise<Channel[]> {
    return this.channels.list(scope.roles.includes('admin') ? undefined : scope.channels);
  }

  private async assertMaster(code: string | null | undefined, self: string): Promise<void> {
    if (!code) return;
    const masterState = await this.channels.stateOf(code);
    if (!masterState || masterState === 'retired') {
      throw new UnprocessableError(
        'master_channel_not_found',
        `master channel ${code} does not exist${masterState ? ' any more (retired)' : ''}`,
        'name a registered, not retired channel as masterChannel',
        {
          fields: [{ field: 'body.masterChannel', problem: `channel ${code} does not exist`, code: 'not_found' }],
        },
      );
    }
    if (code === self) throw new UnprocessableError('master_channel_cycle', 'a channel cannot be its own master', 'name another channel');
  }

  async register(input: RegisterChannelInput, cause: Cause): Promise<Channel> {
    await this.assertMaster(input.masterChannel, input.code);
    const cfg = await this.config.current();
    const now = new Date();
    const doc: Channel = {
      _id: input.code,
      name: input.name,
      kind: input.kind,
      branding: input.branding,
      country: input.country,
      region: input.region,
      languages: input.languages,
      currencies: input.currencies,
      manager: { accountId: input.manager.accountId },
      masterChannel: input.masterChannel ?? null,
      allowedDataRegions: input.allowedDataRegions ?? [input.region],
      state: 'draft',
      previousState: null,
      expectedBackAt: null,
      checklists: emptyChecklists(),
      blockReasons: [],
      appliedConfigVersion: null,
      configReportedAt: null,
      overrides: [],
      credentials: [],
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    doc.blockReasons = configBlockReasons({ languages: doc.languages, appliedConfigVersion: null, overrides: {} }, cfg);
    const created = await this.channels.create(doc, [channelChanged(doc, 'registered', cause)]);
    if (!created) {
      throw new ConflictError(
        'channel_code_taken',
        `a channel with code ${input.code} already exists`,
        'codes are unique and immutable: choose another code',
        { code: input.code },
      );
    }
    return created;
  }

  /**
   * Applies a patch decided on the current document, re-evaluates the configuration block reasons,
   * bumps the version and writes the change with its event.
   */
  private async change(code: string, cause: Cause, decide: (cur: Channel, cfg: ConfigVersion) => Patch | null): Promise<Channel> {
    return (await this.changeWithEvents(code, cause, decide)).doc;
  }

  private async changeWithEvents(
    code: string,
    cause: Cause,
    decide: (cur: Channel, cfg: ConfigVersion) => Patch | null,
  ): Promise<{ doc: Channel; eventId: string | null }> {
    const cfg = await this.config.current();
    const { channel: doc, events } = await this.channels.transact(code, (cur) => {
      if (!cur) throw channelNotFound(code);
      const patch = decide(cur, cfg);
      if (!patch) return null;
      const draft: Channel = { ...cur, ...patch.set };
      const blockReasons = configBlockReasons(
        { languages: draft.languages, appliedConfigVersion: draft.appliedConfigVersion, overrides: overridesOf(draft) },
        cfg,
      );
      const next: Channel = { ...draft, blockReasons, version: cur.version + 1, updatedAt: new Date() };
      const change = patch.change === 'transitioned' ? 'transitioned' : changeLabel(cur.blockReasons, blockReasons, patch.change);
      // retirement: every key of the channel is published as channel_retired in the same write
      const keys = credentialUpdates(code, next.credentials, next.state, next.updatedAt, cause.correlationId);
      return {
        set: {
          ...patch.set,
          blockReasons,
          version: next.version,
          updatedAt: next.updatedAt,
          ...(keys.events.length ? { credentials: keys.credentials } : {}),
        },
        events: [channelChanged(next, change, cause), ...keys.events],
      };
    });
    return { doc: doc ?? (await this.get(code)), eventId: events[0]?.value.envelope.eventId ?? null };
  }

  async update(code: string, input: UpdateChannelInput, cause: Cause): Promise<Channel> {
    if (input.masterChannel) await this.assertMaster(input.masterChannel, code);
    const { code: _c, kind: _k, manager, ...rest } = input;
    void _c;
    void _k;
    const set: Partial<Channel> = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    if (manager) set.manager = { accountId: manager.accountId };
    if (!Object.keys(set).length) return this.get(code);
    return this.change(code, cause, () => ({ set, change: 'updated' }));
  }

  async transition(
    code: string,
    action: LifecycleAction,
    by: Principal,
    opts: { expectedBackAt?: Date | null; reason?: string | null },
    cause: Cause,
  ): Promise<Channel> {
    let step: Omit<TransitionStep, '_id' | 'version'> | undefined;
    const { doc, eventId } = await this.changeWithEvents(code, cause, (cur) => {
      const now = new Date();
      const r = decideTransition({
        state: cur.state,
        checklists: cur.checklists,
        action,
        roles: by.roles,
        by: by.sub,
        now,
        expectedBackAt: opts.expectedBackAt,
      });
      step = {
        channel: code,
        action,
        from: r.from,
        to: r.to,
        by: by.sub,
        at: now,
        expectedBackAt: r.expectedBackAt,
        reason: opts.reason ?? null,
      };
      const checklists = r.checklists === cur.checklists ? {} : { checklists: r.checklists };
      return { set: { state: r.to, previousState: r.from, expectedBackAt: r.expectedBackAt, ...checklists }, change: 'transitioned' };
    });
    // Written after the commit, off the event's path (it is already being published), keyed by the
    // step's event. The step itself succeeded: a failure here is logged, not answered with a 5xx.
    if (step && eventId) {
      await this.store.transitions.add({ _id: eventId, ...step, version: doc.version }).catch((err: unknown) => {
        this.logger.warn('transition not logged', { channel: code, eventId, err: String(err) });
      });
    }
    return doc;
  }

  async completeChecklistItem(
    code: string,
    list: ChecklistName,
    item: string,
    by: Principal,
    note: string | null,
    cause: Cause,
  ): Promise<Channel> {
    return this.change(code, cause, (cur) => {
      decideChecklistItem({ state: cur.state, list, item, roles: by.roles });
      const checklists = {
        ...cur.checklists,
        [list]: { ...cur.checklists[list], [item]: { done: true, by: by.sub, at: new Date(), note } },
      };
      return { set: { checklists }, change: 'updated' };
    });
  }

  async effectiveConfig(code: string): Promise<{ version: number; minimumVersion: number; values: Record<string, unknown> }> {
    const [doc, cfg] = await Promise.all([this.get(code), this.config.current()]);
    return { version: cfg.version, minimumVersion: cfg.minimumVersion, values: effectiveConfig(cfg, overridesOf(doc)) };
  }

  async setOverride(code: string, key: string, value: unknown, by: Principal, reason: string | null, cause: Cause): Promise<Channel> {
    let previous: unknown;
    let version = 0;
    const doc = await this.change(code, cause, (cur, cfg) => {
      decideOverride(cfg, key, value);
      version = cfg.version;
      previous = overridesOf(cur)[key];
      return { set: { overrides: [...cur.overrides.filter((o) => o.key !== key), { key, value }] }, change: 'updated' };
    });
    await this.store.overrideLog.add({
      channel: code,
      key,
      action: 'set',
      value,
      previous: previous ?? null,
      configVersion: version,
      by: by.sub,
      reason,
      at: new Date(),
    });
    return doc;
  }

  async removeOverride(code: string, key: string, by: Principal, reason: string | null, cause: Cause): Promise<Channel> {
    let previous: unknown;
    let version = 0;
    const doc = await this.change(code, cause, (cur, cfg) => {
      previous = overridesOf(cur)[key];
      if (previous === undefined)
        throw new NotFoundError(
          'override_not_found',
          `channel ${code} does not override ${key}`,
          'GET /channels/{code} lists its overrides',
        );
      version = cfg.version;
      return { set: { overrides: cur.overrides.filter((o) => o.key !== key) }, change: 'updated' };
    });
    await this.store.overrideLog.add({
      channel: code,
      key,
      action: 'removed',
      value: null,
      previous,
      configVersion: version,
      by: by.sub,
      reason,
      at: new Date(),
    });
    return doc;
  }

  /** A channel app reports the global configuration version it applies. */
  async reportConfigVersion(code: string, version: number, cause: Cause): Promise<Channel> {
    const cfg = await this.config.current();
    if (version > cfg.version) {
      throw new UnprocessableError(
        'config_version_unknown',
        `configuration version ${version} does not exist yet (current is ${cfg.version})`,
        'report the version your app actually applies',
      );
    }
    return this.change(code, cause, (cur) =>
      cur.appliedConfigVersion === version
        ? null
        : { set: { appliedConfigVersion: version, configReportedAt: new Date() }, change: 'updated' },
    );
  }

  /** After a new global version: re-evaluate every channel's block reasons (writes only where they changed). */
  async reevaluateAll(cause: Cause): Promise<number> {
    const cfg = await this.config.current();
    let changed = 0;
    for (const _id of await this.channels.codesNotRetired()) {
      let wrote = false;
      await this.change(_id, cause, (cur) => {
        const reasons = configBlockReasons(
          { languages: cur.languages, appliedConfigVersion: cur.appliedConfigVersion, overrides: overridesOf(cur) },
          cfg,
        );
        if (reasons.join() === cur.blockReasons.join()) return null;
        wrote = true;
        return { set: {}, change: 'updated' };
      });
      if (wrote) changed++;
    }
    return changed;
  }

  async transitionsOf(code: string): Promise<Omit<TransitionStep, '_id'>[]> {
    await this.get(code);
    return this.store.transitions.listFor(code);
  }

  overrideLogOf(code: string): Promise<OverrideLogEntry[]> {
    return this.store.overrideLog.listFor(code);
  }
}
