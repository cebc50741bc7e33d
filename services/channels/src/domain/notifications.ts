/**
 * Channel-specific messages for the people a lifecycle change or a block affects, rendered from the
 * channel's effective templates in each of its languages (falling back as pickText does).
 */
import { effectiveConfig, isTextByLanguage, pickText, render, type ConfigVersion } from './config';

export const NOTIFICATION_KINDS = ['maintenance', 'sunset', 'commerce_blocked'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export const AUDIENCES = ['customer', 'seller', 'admin'] as const;
export type Audience = (typeof AUDIENCES)[number];

/** Customer recipients per notification, so one message stays a bounded event. */
export const RECIPIENTS_PER_NOTIFICATION = 500;

export interface NotificationDraft {
  kind: NotificationKind;
  audience: Audience;
  language: string;
  subject: string;
  message: string;
  recipientIds: string[];
  /** Position among the drafts of one cause, for deterministic ids. */
  part: string;
}

export interface NotifiedChannel {
  code: string;
  name: string;
  languages: readonly string[];
  overrides: Record<string, unknown>;
  expectedBackAt: Date | null;
  blockReasons: readonly string[];
}

const SUBJECTS: Record<NotificationKind, string> = {
  maintenance: '{channelName}: maintenance until {expectedBackAt}',
  sunset: '{channelName} is closing',
  commerce_blocked: 'Commerce blocked on {channelCode}',
};

const AUDIENCES_OF: Record<NotificationKind, Audience[]> = {
  maintenance: ['customer', 'seller', 'admin'],
  sunset: ['customer', 'seller', 'admin'],
  commerce_blocked: ['admin'],
};

export function buildNotifications(
  channel: NotifiedChannel,
  kind: NotificationKind,
  cfg: ConfigVersion,
  customerIds: readonly string[],
): NotificationDraft[] {
  const effective = effectiveConfig(cfg, channel.overrides);
  const vars = {
    channelName: channel.name,
    channelCode: channel.code,
    expectedBackAt: channel.expectedBackAt ? channel.expectedBackAt.toISOString() : 'further notice',
    blockReasons: channel.blockReasons.join(', '),
  };
  const drafts: NotificationDraft[] = [];
  for (const audience of AUDIENCES_OF[kind]) {
    const texts = effective[`template.${kind}.${audience}`];
    if (!isTextByLanguage(texts)) continue;
    if (audience === 'customer' && customerIds.length === 0) continue;
    // One message per language actually available: de-CH and de-AT both get the de text once.
    const byLanguage = new Map<string, string>();
    for (const lang of channel.languages) {
      const picked = pickText(texts, lang);
      if (picked && !byLanguage.has(picked.language)) byLanguage.set(picked.language, picked.text);
    }
    const chunks: string[][] = [];
    if (audience === 'customer')
      for (let i = 0; i < customerIds.length; i += RECIPIENTS_PER_NOTIFICATION)
        chunks.push(customerIds.slice(i, i + RECIPIENTS_PER_NOTIFICATION));
    else chunks.push([]);
    for (const [language, text] of byLanguage) {
      chunks.forEach((recipientIds, i) =>
        drafts.push({
          kind,
          audience,
          language,
          subject: render(SUBJECTS[kind], vars),
          message: render(text, vars),
          recipientIds,
          part: `${audience}:${language}:${i}`,
        }),
      );
    }
  }
  return drafts;
}
