import { randomUUID } from 'node:crypto';
import { ForbiddenError } from '@omnimall/service-kit/errors';
import { residencyVerdict, type ComplianceRecord, type KnownRule, type ResidencyVerdict } from '../domain/residency';
import { complianceViolation } from '../events/out/compliance';
import type { IdentityContext } from './context';

/** 403 naming the rule and the remediation at the top level of the body (plus the kit's code/message/hint). */
export class DataResidencyError extends ForbiddenError {
  constructor(
    readonly verdict: ResidencyVerdict,
    violationId: string,
  ) {
    super(
      'data_residency_forbidden',
      `channel ${verdict.channel} may not receive personal data of region "${verdict.dataRegion}"`,
      verdict.remediation,
      {
        rule: verdict.rule,
        channel: verdict.channel,
        dataRegion: verdict.dataRegion,
        allowedRegions: verdict.allowedRegions,
        ruleSource: verdict.source,
        violationId,
      },
    );
  }

  override toBody(): Record<string, unknown> {
    return { ...super.toBody(), rule: this.verdict.rule, remediation: this.verdict.remediation };
  }
}

/** The residency rule of a channel: the channels service's word first, configuration until then. */
export async function channelRule(ctx: IdentityContext, channel: string): Promise<KnownRule | null> {
  const known = await ctx.store.channelRules.get(channel);
  if (known) return { allowedDataRegions: known.allowedDataRegions, source: 'channels' };
  const configured = ctx.settings.channelDataRegions[channel];
  return configured ? { allowedDataRegions: configured, source: 'configuration' } : null;
}

/**
 * Refuses (403 + a compliance event) a request that would send a customer's personal data to a
 * channel not allowed to receive that region's data. A request that names no channel sends nothing
 * to a channel and passes.
 */
export async function assertResidency(
  ctx: IdentityContext,
  input: {
    channel: string | null;
    customerId: string | null;
    dataRegion: string;
    action: string;
    actor: string | null;
    correlationId?: string;
  },
): Promise<void> {
  if (!input.channel) return;
  const verdict = residencyVerdict(input.channel, input.dataRegion, await channelRule(ctx, input.channel));
  if (verdict.allowed) return;
  const record: ComplianceRecord = {
    _id: randomUUID(),
    rule: verdict.rule,
    customerId: input.customerId,
    channel: input.channel,
    dataRegion: input.dataRegion,
    allowedRegions: verdict.allowedRegions,
    action: input.action,
    actor: input.actor,
    at: new Date(),
  };
  await ctx.store.complianceRecords.create(record, [
    complianceViolation(record, { correlationId: input.correlationId, sourceChannel: input.channel }),
  ]);
  ctx.logger.warn('data residency refusal', {
    channel: input.channel,
    customerId: input.customerId,
    dataRegion: input.dataRegion,
    action: input.action,
  });
  throw new DataResidencyError(verdict, record._id);
}
