/**
 * Central configuration: one global, versioned set of entries (branding, compliance texts,
 * communication templates, business rules). A channel may override only entries marked
 * overridable; it reports which global version it applies, and commerce is blocked while that
 * version is older than the required minimum or a mandatory text is missing in one of its languages.
 */
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '@omnimall/service-kit/errors';

export const CONFIG_CATEGORIES = ['branding', 'compliance', 'template', 'rule'] as const;

export const ConfigEntry = z
  .object({
    category: z.enum(CONFIG_CATEGORIES),
    value: z.unknown().refine((v) => v !== undefined && v !== null, 'a value is required'),
    overridable: z.boolean().default(false),
    /** Mandatory texts (compliance) must exist in every language of every channel. */
    mandatory: z.boolean().default(false),
  })
  .strict()
  .superRefine((e, ctx) => {
    if ((e.category === 'compliance' || e.category === 'template') && !isTextByLanguage(e.value)) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'texts and templates are an object of BCP 47 language tag → non-empty string',
      });
    }
  });
export type ConfigEntry = z.infer<typeof ConfigEntry>;

export interface ConfigVersion {
  version: number;
  /** Channels applying an older version get their commerce blocked. */
  minimumVersion: number;
  entries: Record<string, ConfigEntry>;
}

export type TextByLanguage = Record<string, string>;

export function isTextByLanguage(v: unknown): v is TextByLanguage {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.keys(v).length > 0 &&
    Object.values(v).every((s) => typeof s === 'string' && s.trim().length > 0)
  );
}

/** The text for a language: exact tag, then its base language (de-CH → de), then English, then any. */
export function pickText(texts: TextByLanguage, language: string): { language: string; text: string } | null {
  const base = language.split('-')[0];
  for (const candidate of [language, base]) if (texts[candidate]) return { language: candidate, text: texts[candidate] };
  const sameBase = Object.keys(texts).find((k) => k.split('-')[0] === base);
  if (sameBase) return { language: sameBase, text: texts[sameBase] };
  if (texts.en) return { language: 'en', text: texts.en };
  const first = Object.keys(texts)[0];
  return first ? { language: first, text: texts[first] } : null;
}

/** Whether a text exists for the language itself (or its base language), without falling back to another. */
function hasTextFor(texts: TextByLanguage, language: string): boolean {
  const base = language.split('-')[0];
  return Boolean(texts[language] || texts[base]);
}

export function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

/** Global entries with the channel's overrides applied (overrides of keys no longer overridable are ignored). */
export function effectiveConfig(cfg: ConfigVersion, overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(cfg.entries)) {
    out[key] = entry.overridable && key in overrides ? overrides[key] : entry.value;
  }
  return out;
}

/** Checks a channel's override of one key against the current global version; returns nothing or throws. */
export function decideOverride(cfg: ConfigVersion, key: string, value: unknown): void {
  const entry = cfg.entries[key];
  if (!entry)
    throw new NotFoundError(
      'config_key_not_found',
      `there is no configuration key ${key}`,
      'GET /config lists the keys of the current version',
      { key },
    );
  if (!entry.overridable) {
    const overridable = Object.entries(cfg.entries)
      .filter(([, e]) => e.overridable)
      .map(([k]) => k);
    throw new ConflictError(
      'not_overridable',
      `${key} is set globally and may not be overridden by a channel`,
      'override one of the overridable keys instead',
      { key, overridable },
    );
  }
  const sameShape =
    entry.category === 'compliance' || entry.category === 'template'
      ? isTextByLanguage(value)
      : typeof value === typeof entry.value && Array.isArray(value) === Array.isArray(entry.value);
  if (!sameShape || value === null) {
    throw new ValidationError(
      'validation_failed',
      `the override of ${key} does not have the shape of the global value`,
      'send a value of the same type as the global one',
      {
        fields: [{ field: 'body.value', problem: `must have the shape of the global ${entry.category} value`, code: 'invalid_type' }],
      },
    );
  }
}

export interface ComplianceSubject {
  languages: readonly string[];
  appliedConfigVersion: number | null;
  overrides: Record<string, unknown>;
}

/**
 * Why commerce is blocked on a channel besides its state: `outdated_config_version` when it applies
 * a version older than the required minimum, `missing_compliance_text:<key>:<language>` for each
 * mandatory text missing in one of its languages. A channel that has not reported yet is judged on
 * its texts only.
 */
export function configBlockReasons(channel: ComplianceSubject, cfg: ConfigVersion): string[] {
  const reasons: string[] = [];
  if (channel.appliedConfigVersion !== null && channel.appliedConfigVersion < cfg.minimumVersion) reasons.push('outdated_config_version');
  const effective = effectiveConfig(cfg, channel.overrides);
  for (const [key, entry] of Object.entries(cfg.entries)) {
    if (!entry.mandatory) continue;
    const texts = effective[key];
    for (const lang of channel.languages) {
      if (!isTextByLanguage(texts) || !hasTextFor(texts, lang)) reasons.push(`missing_compliance_text:${key}:${lang}`);
    }
  }
  return reasons.sort();
}

/** Version 1, seeded when the database has no configuration yet. */
export const INITIAL_CONFIG: ConfigVersion = {
  version: 1,
  minimumVersion: 1,
  entries: {
    'branding.primaryColor': { category: 'branding', value: '#1A73E8', overridable: true, mandatory: false },
    'branding.fontFamily': { category: 'branding', value: 'Inter', overridable: true, mandatory: false },
    'compliance.privacyNotice': {
      category: 'compliance',
      overridable: false,
      mandatory: true,
      value: {
        en: 'We process your personal data according to our privacy policy.',
        de: 'Wir verarbeiten Ihre personenbezogenen Daten gemäß unserer Datenschutzerklärung.',
        fr: 'Nous traitons vos données personnelles conformément à notre politique de confidentialité.',
        es: 'Tratamos sus datos personales de acuerdo con nuestra política de privacidad.',
        ja: '当社はプライバシーポリシーに従って個人データを処理します。',
        ko: '당사는 개인정보 처리방침에 따라 개인 데이터를 처리합니다.',
      },
    },
    'compliance.termsOfSale': {
      category: 'compliance',
      overridable: true,
      mandatory: true,
      value: {
        en: 'All sales are subject to our terms of sale.',
        de: 'Alle Verkäufe unterliegen unseren Verkaufsbedingungen.',
        fr: 'Toutes les ventes sont soumises à nos conditions de vente.',
        es: 'Todas las ventas están sujetas a nuestras condiciones de venta.',
      },
    },
    'template.maintenance.customer': {
      category: 'template',
      overridable: true,
      mandatory: false,
      value: {
        en: '{channelName} is under maintenance until {expectedBackAt}. Your cart is kept safe: you can still view it, and change it or check out once we are back.',
        de: '{channelName} wird bis {expectedBackAt} gewartet. Ihr Warenkorb bleibt erhalten: Sie können ihn weiter ansehen und danach wieder ändern und bestellen.',
        fr: '{channelName} est en maintenance jusqu’à {expectedBackAt}. Votre panier est conservé : vous pouvez toujours le consulter, puis le modifier ou commander dès notre retour.',
      },
    },
    'template.maintenance.seller': {
      category: 'template',
      overridable: true,
      mandatory: false,
      value: {
        en: '{channelName} takes no orders until {expectedBackAt} (maintenance).',
        de: '{channelName} nimmt bis {expectedBackAt} keine Bestellungen an (Wartung).',
      },
    },
    'template.maintenance.admin': {
      category: 'template',
      overridable: false,
      mandatory: false,
      value: { en: 'Channel {channelCode} entered maintenance; expected back at {expectedBackAt}.' },
    },
    'template.sunset.customer': {
      category: 'template',
      overridable: true,
      mandatory: false,
      value: {
        en: '{channelName} is closing. Your account and cart remain available on our other channels.',
        de: '{channelName} wird eingestellt. Ihr Konto und Ihr Warenkorb bleiben auf unseren anderen Kanälen verfügbar.',
        fr: '{channelName} ferme. Votre compte et votre panier restent disponibles sur nos autres canaux.',
      },
    },
    'template.sunset.seller': {
      category: 'template',
      overridable: true,
      mandatory: false,
      value: {
        en: '{channelName} is being sunset: plan the liquidation of your stock on this channel.',
        de: '{channelName} wird eingestellt: planen Sie den Abverkauf Ihres Bestands.',
      },
    },
    'template.sunset.admin': {
      category: 'template',
      overridable: false,
      mandatory: false,
      value: { en: 'Channel {channelCode} entered sunset.' },
    },
    'template.commerce_blocked.admin': {
      category: 'template',
      overridable: false,
      mandatory: false,
      value: { en: 'Commerce on channel {channelCode} is blocked: {blockReasons}.' },
    },
    'rules.maxCartLines': { category: 'rule', value: 100, overridable: false, mandatory: false },
    'rules.returnWindowDays': { category: 'rule', value: 14, overridable: true, mandatory: false },
  },
};
