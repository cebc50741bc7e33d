/**
 * What the routes are given, and who may call them. Staff routes take the identity service's bearer
 * tokens: admins act on every channel, channel managers only on the channels in their token's scope
 * (403 otherwise). Where a channel's personal data may reside (`allowedDataRegions`) is set by an
 * admin or a compliance officer only: a manager widening it on their own channel would lift the
 * residency rule every service enforces. Channel apps identify themselves with x-channel-code and
 * x-channel-key (an API key issued here; a retired channel's keys are refused).
 */
import { channelScopeRefusal } from '@omnimall/contracts';
import { ForbiddenError, principalOf, requireAuth, UnauthorizedError, type Principal, type TokenVerifier } from '@omnimall/service-kit';
import type { ChannelService } from '../application/channel-service';
import type { ConfigStore } from '../application/config-store';
import type { CredentialService } from '../application/credential-service';
import type { EndpointService } from '../application/endpoint-service';
import type { NotificationService } from '../application/notification-service';
import type { PartnerIngestion } from '../application/partner-ingestion';
import type { Channel } from '../domain/channel';
import type { Response } from './schemas';

export interface RouteDeps {
  /** The kit's verifier from build (auth.verifier): bound to the trust state, so revoked tokens are refused. */
  verifier: TokenVerifier;
  channels: ChannelService;
  credentials: CredentialService;
  config: ConfigStore;
  endpoints: EndpointService;
  notifications: Pick<NotificationService, 'listFor'>;
  partners: PartnerIngestion;
  /** Runs after a new global configuration version was published (re-evaluates every channel). */
  onConfigPublished: (correlationId: string) => Promise<number>;
}

type RequestHandler = ReturnType<typeof requireAuth>;

export interface Guards {
  /** Staff with the channel_manager role (or admins). */
  staff: RequestHandler;
  admin: RequestHandler;
  /** Admins and compliance officers: who sets a channel's data regions. */
  residency: RequestHandler;
  /** A channel app with a valid API key; the channel is then `appChannel(res)`. */
  channelApp: RequestHandler;
  /** The caller, if the channel is in its scope (403 otherwise). */
  scoped(res: Response, code: string): Principal;
  appChannel(res: Response): Channel;
}

export function guards(d: Pick<RouteDeps, 'verifier' | 'credentials'>): Guards {
  return {
    staff: requireAuth(d.verifier, { kind: 'staff', roles: ['admin', 'channel_manager'] }),
    admin: requireAuth(d.verifier, { kind: 'staff', roles: ['admin'] }),
    residency: requireAuth(d.verifier, { kind: 'staff', roles: ['admin', 'compliance_officer'] }),
    channelApp: (req, res, next) => {
      const code = req.header('x-channel-code');
      const key = req.header('x-channel-key');
      if (!code || !key) {
        next(
          new UnauthorizedError('channel_credentials_missing', 'this route is for channel apps', 'send x-channel-code and x-channel-key'),
        );
        return;
      }
      d.credentials
        .authenticate(code, key)
        .then((doc) => {
          res.locals.channel = doc;
          next();
        })
        .catch(next);
    },
    scoped: (res, code) => {
      const p = principalOf(res);
      const refusal = channelScopeRefusal(p, code);
      if (refusal) throw new ForbiddenError(...refusal);
      return p;
    },
    appChannel: (res) => res.locals.channel as Channel,
  };
}
