/**
 * Channel-specific messages for the people a lifecycle change or a block affects, rendered from the
 * channel's effective templates in each of its languages (falling back as pickText does), and the
 * sync-monitor's delay and recovery notices (sync.notice) turned into the same messages, the
 * message announcing a customer's password reset (identity.password-reset), and the message telling
 * customers that a promotion on their cart's or wishlist's items started (cart.promotion-notice).
 */
import { effectiveConfig, isTextByLanguage, pickText, render, type ConfigVersion } from './config';

export const NOTIFICATION_KINDS = ['maintenance', 'sunset', 'commerce_blocked'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export const AUDIENCES = ['customer', 'seller', 'admin'] as const;
export type Audience = (typeof AUDIENCES)[number];

/** Customer (and seller) recipients per notification, so one message stays a bounded event. */
export const RECIPIENTS_PER_NOTIFICATION = 500;

export interface NotificationDraft {
  kind: NotificationKind | SyncNoticeKind | typeof PASSWORD_RESET_KIND | typeof PROMOTION_STARTED_KIND;
  audience: Audience;
  language: string;
  subject: string;
  message: string;
  recipientIds: string[];
  /** Position among the drafts of one cause, for deterministic ids. */
  part: string;
}

/** A stored notification (its channels.notification event is written with it). */
export interface Notification extends Omit<NotificationDraft, 'part'> {
  _id: string;
  /** A channel code, or `*` (ALL_CHANNELS) for a sync notice to every admin. */
  channel: string;
  expectedBackAt: Date | null;
  configVersion: number;
  causeEventId: string;
  createdAt: Date;
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

/**
 * The messages of a lifecycle change or block: per audience of the kind, one per language available
 * for the channel's languages, with the recipients chunked. Customers: those given (none, no customer
 * message). Sellers: those given (the sellers listed on the channel); when none is known, one
 * message per language with no recipients, addressed to every seller of the channel, as before
 * sellers were known.
 */
export function buildNotifications(
  channel: NotifiedChannel,
  kind: NotificationKind,
  cfg: ConfigVersion,
  customerIds: readonly string[],
  sellerIds: readonly string[] = [],
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
    const recipients = audience === 'customer' ? customerIds : audience === 'seller' ? sellerIds : [];
    const chunks: string[][] = [];
    for (let i = 0; i < recipients.length; i += RECIPIENTS_PER_NOTIFICATION)
      chunks.push(recipients.slice(i, i + RECIPIENTS_PER_NOTIFICATION));
    if (chunks.length === 0) chunks.push([]); // admins, or sellers when none is known: addressed to all of them
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

// ---- sync notices (sync.notice) ------------------------------------------------------------------

export const SYNC_NOTICE_KINDS = ['propagation_delayed', 'propagation_recovered'] as const;
export type SyncNoticeKind = (typeof SYNC_NOTICE_KINDS)[number];
export const SYNC_NOTICE_AUDIENCES = ['admin', 'customer'] as const satisfies readonly Audience[];
export type SyncNoticeAudience = (typeof SYNC_NOTICE_AUDIENCES)[number];

/** Channel of the notifications for every admin (a notice with no channel); no channel code can be `*`. */
export const ALL_CHANNELS = '*';

/**
 * Customer texts of the notices besides English. The notice carries its English subject and message,
 * which are used as they are; a channel language with no text here gets the English one.
 */
const SYNC_NOTICE_TEXTS: Record<SyncNoticeKind, Record<string, { subject: string; message: string }>> = {
  propagation_delayed: {
    de: {
      subject: 'Einige Änderungen verzögern sich',
      message:
        'Eine Änderung an Ihrem Konto oder Warenkorb braucht länger als üblich, um überall zu erscheinen. Wir kümmern uns darum; Sie müssen nichts tun.',
    },
    fr: {
      subject: 'Certaines modifications sont retardées',
      message:
        'Une modification de votre compte ou de votre panier met plus de temps que d’habitude à apparaître partout. Nous nous en occupons ; vous n’avez rien à faire.',
    },
  },
  propagation_recovered: {
    de: {
      subject: 'Verzögerte Änderungen sind jetzt aktuell',
      message: 'Die verzögerte Änderung ist jetzt auf allen Kanälen sichtbar.',
    },
    fr: {
      subject: 'Les modifications retardées sont à jour',
      message: 'La modification retardée est désormais visible sur tous les canaux.',
    },
  },
};

export interface SyncNoticeText {
  kind: SyncNoticeKind;
  audience: SyncNoticeAudience;
  subject: string;
  message: string;
}

/**
 * The messages of one notice: for admins one English message; for customers one per language of the
 * channel (de-CH and de-AT share the de text, languages without a text share the English one), with
 * the recipients chunked as for the other notifications.
 */
export function buildSyncNoticeNotifications(
  notice: SyncNoticeText,
  languages: readonly string[],
  customerIds: readonly string[],
): NotificationDraft[] {
  const base = { kind: notice.kind, audience: notice.audience };
  if (notice.audience === 'admin')
    return [{ ...base, language: 'en', subject: notice.subject, message: notice.message, recipientIds: [], part: 'admin:en:0' }];
  const texts: Record<string, { subject: string; message: string }> = {
    ...SYNC_NOTICE_TEXTS[notice.kind],
    en: { subject: notice.subject, message: notice.message },
  };
  return customerDrafts(notice.kind, texts, languages, customerIds);
}

/**
 * Customer messages of one kind: one per language of the channel (de-CH and de-AT share the de text,
 * languages without a text share the English one; `texts` holds en), with the recipients chunked.
 */
function customerDrafts(
  kind: NotificationDraft['kind'],
  texts: Record<string, { subject: string; message: string }>,
  languages: readonly string[],
  customerIds: readonly string[],
): NotificationDraft[] {
  const messages = Object.fromEntries(Object.entries(texts).map(([lang, t]) => [lang, t.message]));
  const byLanguage = new Set<string>();
  for (const lang of languages.length ? languages : ['en']) {
    const picked = pickText(messages, lang);
    if (picked) byLanguage.add(picked.language);
  }
  const drafts: NotificationDraft[] = [];
  for (const language of byLanguage) {
    for (let i = 0, part = 0; i < customerIds.length; i += RECIPIENTS_PER_NOTIFICATION, part++) {
      drafts.push({
        kind,
        audience: 'customer',
        language,
        ...texts[language],
        recipientIds: customerIds.slice(i, i + RECIPIENTS_PER_NOTIFICATION),
        part: `customer:${language}:${part}`,
      });
    }
  }
  return drafts;
}

// ---- password resets (identity.password-reset) ---------------------------------------------------

export const PASSWORD_RESET_KIND = 'password_reset';

/**
 * The stored, published message of a password reset: to that one customer, in English. It never
 * carries the token (channels.notification is read by other services and the notification list by
 * the channel's staff); only the webhook delivery adds it.
 */
export function buildPasswordResetNotification(customerId: string, expiresAt: Date): NotificationDraft {
  return {
    kind: PASSWORD_RESET_KIND,
    audience: 'customer',
    language: 'en',
    subject: 'Reset your password',
    message: `A password reset was requested for your account. The reset link is valid until ${expiresAt.toISOString()}.`,
    recipientIds: [customerId],
    part: 'customer:en:0',
  };
}

// ---- promotion starts (cart.promotion-notice) ----------------------------------------------------

export const PROMOTION_STARTED_KIND = 'promotion_started';

const PROMOTION_STARTED_TEXTS: Record<string, { subject: string; message: string }> = {
  en: {
    subject: '{name} has started',
    message: 'A promotion on items in your cart or wishlist has started: {name}{until}.',
  },
  de: {
    subject: '{name} hat begonnen',
    message: 'Eine Aktion für Artikel in Ihrem Warenkorb oder auf Ihrer Wunschliste hat begonnen: {name}{until}.',
  },
  fr: {
    subject: '{name} a commencé',
    message: 'Une promotion sur des articles de votre panier ou de votre liste d’envies a commencé : {name}{until}.',
  },
};

const UNTIL: Record<string, string> = { en: ' (until {endsAt})', de: ' (bis {endsAt})', fr: ' (jusqu’au {endsAt})' };

/** What the message says of the promotion. */
export interface StartedPromotion {
  name: string;
  /** Epoch millis, or null when it has no end. */
  endsAt: number | null;
}

/**
 * The messages telling customers of one channel that a promotion on their cart's or wishlist's items
 * started: one per language of the channel (as for sync notices), naming the promotion and its end
 * (when it has one that is a date), with the recipients chunked.
 */
export function buildPromotionStartedNotifications(
  promotion: StartedPromotion,
  languages: readonly string[],
  customerIds: readonly string[],
): NotificationDraft[] {
  const end = promotion.endsAt === null ? null : new Date(promotion.endsAt);
  const endsAt = end && Number.isFinite(end.getTime()) ? end.toISOString() : null;
  const texts = Object.fromEntries(
    Object.entries(PROMOTION_STARTED_TEXTS).map(([lang, t]) => {
      const vars = { name: promotion.name, until: endsAt ? render(UNTIL[lang], { endsAt }) : '' };
      return [lang, { subject: render(t.subject, vars), message: render(t.message, vars) }];
    }),
  );
  return customerDrafts(PROMOTION_STARTED_KIND, texts, languages, customerIds);
}
