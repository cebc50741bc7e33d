/**
 * What a channel is made of, and the rules each field must follow. These zod schemas both validate
 * requests (one 400 listing every bad field) and document them in /openapi.json.
 */
import { z } from 'zod';

export const CHANNEL_KINDS = ['web', 'mobile_app', 'mini_app', 'kiosk', 'affiliate', 'marketplace'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** Kinds run by a partner on top of a master channel: they need one, and may receive partner deliveries. */
export const PARTNER_KINDS: readonly ChannelKind[] = ['affiliate', 'marketplace'];

/** Regions where personal data may reside (same vocabulary as identity's dataRegion). */
export const DATA_REGIONS = ['eu', 'uk', 'us', 'ca', 'latam', 'apac', 'jp', 'kr', 'cn', 'in', 'mea', 'au'] as const;

// ISO 3166-1 alpha-2, officially assigned codes (249). Intl.DisplayNames also accepts EU, UN, XK, ...
const ISO_COUNTRIES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ ' +
    'UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);
export const isIsoCountry = (c: string): boolean => ISO_COUNTRIES.has(c);

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
export const isIsoCurrency = (c: string): boolean => CURRENCIES.has(c);

/** The canonical BCP 47 form of a tag (en-us → en-US), or null when the tag is not well-formed. */
export function canonicalLanguage(tag: string): string | null {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical ?? null;
  } catch {
    return null;
  }
}

const httpsUrl = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

const colour = z.string().regex(/^#[0-9A-Fa-f]{6}$/, 'must be a colour as #RRGGBB');
const fontName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 -]{0,63}$/, 'must be a font family name (letters, digits, spaces, hyphens; 1-64 characters)');

export const Branding = z
  .object({
    logoUrl: httpsUrl,
    imageUrls: z.array(httpsUrl).max(20).default([]),
    colors: z
      .object({
        primary: colour,
        secondary: colour.optional(),
        accent: colour.optional(),
        background: colour.optional(),
        text: colour.optional(),
      })
      .strict(),
    fonts: z.object({ heading: fontName, body: fontName }).strict(),
  })
  .strict();

export const ChannelCode = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,31}$/, 'must be 2-32 characters: lower-case letters, digits and hyphens, starting with a letter');

const country = z.string().refine(isIsoCountry, 'must be an ISO 3166-1 alpha-2 country code in upper case (e.g. DE)');
const region = z.enum(DATA_REGIONS);

const languages = z
  .array(z.string().refine((t) => canonicalLanguage(t) !== null, 'must be a well-formed BCP 47 language tag (e.g. en-GB)'))
  .min(1, 'at least one language')
  .max(30)
  .transform((tags) => [...new Set(tags.map((t) => canonicalLanguage(t)!))]);

const currencies = z
  .array(z.string().refine(isIsoCurrency, 'must be an ISO 4217 currency code (e.g. EUR)'))
  .min(1, 'at least one currency')
  .max(30)
  .transform((c) => [...new Set(c)]);

export const Manager = z
  .object({
    accountId: z.string().regex(/^[A-Za-z0-9_:-]{1,64}$/, 'must be a staff account id'),
    roles: z.array(z.string()).refine((r) => r.includes('channel_manager'), 'the manager must hold the channel_manager scope'),
  })
  .strict();

export const RegisterChannelBody = z
  .object({
    code: ChannelCode,
    name: z.string().trim().min(1).max(120),
    kind: z.enum(CHANNEL_KINDS),
    branding: Branding,
    country,
    region,
    languages,
    currencies,
    manager: Manager,
    masterChannel: ChannelCode.nullable().optional(),
    allowedDataRegions: z.array(region).max(DATA_REGIONS.length).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (PARTNER_KINDS.includes(b.kind) && !b.masterChannel) {
      ctx.addIssue({ code: 'custom', path: ['masterChannel'], message: `a ${b.kind} channel depends on a master channel` });
    }
    if (b.masterChannel === b.code)
      ctx.addIssue({ code: 'custom', path: ['masterChannel'], message: 'a channel cannot be its own master' });
  });
export type RegisterChannelInput = z.infer<typeof RegisterChannelBody>;

/** Everything but the code and kind may change; the code is the channel's identity everywhere. */
export const UpdateChannelBody = z
  .object({
    code: z.unknown().optional(),
    kind: z.unknown().optional(),
    name: z.string().trim().min(1).max(120).optional(),
    branding: Branding.optional(),
    country: country.optional(),
    region: region.optional(),
    languages: languages.optional(),
    currencies: currencies.optional(),
    manager: Manager.optional(),
    masterChannel: ChannelCode.nullable().optional(),
    allowedDataRegions: z.array(region).max(DATA_REGIONS.length).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.code !== undefined) ctx.addIssue({ code: 'custom', path: ['code'], message: 'the channel code is immutable' });
    if (b.kind !== undefined)
      ctx.addIssue({ code: 'custom', path: ['kind'], message: 'the channel kind is immutable; register a new channel' });
  });
export type UpdateChannelInput = z.infer<typeof UpdateChannelBody>;
