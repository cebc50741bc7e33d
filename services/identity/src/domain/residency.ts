/**
 * Data residency: a channel receives a customer's personal data only when the channel's
 * allowedDataRegions include the customer's data region. Channels are learnt from the channels
 * service's events; until a channel is known, configuration (CHANNEL_DATA_REGIONS) decides; a
 * channel known to neither receives no personal data (deny by default). Pure: no I/O.
 */
/** A channel's rule as the channels service announced it (projection of channels.channel-changed). */
export interface ChannelRule {
  /** The channel code. */
  _id: string;
  allowedDataRegions: string[];
  state: string;
  version: number;
}

/** The rule identity applies to a channel, and where it came from. */
export interface KnownRule {
  allowedDataRegions: string[];
  source: 'channels' | 'configuration';
}

/** Evidence of a refusal, kept and announced as identity.compliance-violation. */
export interface ComplianceRecord {
  _id: string;
  rule: string;
  customerId: string | null;
  channel: string | null;
  dataRegion: string | null;
  allowedRegions: string[];
  action: string;
  actor: string | null;
  at: Date;
}

export interface ResidencyVerdict {
  allowed: boolean;
  rule: 'data_residency';
  channel: string;
  dataRegion: string;
  allowedRegions: string[];
  /** Where the channel's rule came from. */
  source: 'channels' | 'configuration' | 'unknown_channel';
  remediation: string;
}

export function residencyVerdict(channel: string, dataRegion: string, known: KnownRule | null): ResidencyVerdict {
  if (!known) {
    return {
      allowed: false,
      rule: 'data_residency',
      channel,
      dataRegion,
      allowedRegions: [],
      source: 'unknown_channel',
      remediation: `channel ${channel} has not declared which regions' personal data it may receive: register it in the channels service (allowedDataRegions) or add it to CHANNEL_DATA_REGIONS`,
    };
  }
  const allowed = known.allowedDataRegions.includes(dataRegion);
  return {
    allowed,
    rule: 'data_residency',
    channel,
    dataRegion,
    allowedRegions: [...known.allowedDataRegions],
    source: known.source,
    remediation: allowed
      ? ''
      : `serve this customer from a channel whose allowedDataRegions include "${dataRegion}", or have a channel manager add "${dataRegion}" to channel ${channel}'s allowedDataRegions after a legal review`,
  };
}

/** Parses CHANNEL_DATA_REGIONS ({"web":["eu","us"]}); throws a configuration error naming the problem. */
export function parseChannelDataRegions(raw: string | undefined): Record<string, string[]> {
  if (!raw || !raw.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('CHANNEL_DATA_REGIONS must be JSON such as {"web":["eu","us"]}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('CHANNEL_DATA_REGIONS must be a JSON object of channel code → region list');
  const out: Record<string, string[]> = {};
  for (const [code, regions] of Object.entries(parsed)) {
    if (!Array.isArray(regions) || !regions.every((r) => typeof r === 'string'))
      throw new Error(`CHANNEL_DATA_REGIONS.${code} must be an array of region codes`);
    out[code] = regions as string[];
  }
  return out;
}
