/** The HTTP API of channels, declared with the kit's HttpApi (served as /openapi.json), assembled from one file per resource. */
import { HttpApi } from '@omnimall/service-kit';
import { channelAppRoutes, credentialRoutes } from './credentials';
import { configRoutes } from './config';
import { guards, type RouteDeps } from './deps';
import { lifecycleRoutes, registryRoutes } from './channels';
import { notificationRoutes } from './notifications';
import { partnerRoutes } from './partners';

export type { RouteDeps } from './deps';

export function buildApi(d: RouteDeps): HttpApi {
  const g = guards(d);
  const api = new HttpApi({
    title: 'omnimall channels',
    version: '1.0.0',
    description: 'Channel registry, lifecycle, central configuration, notifications and partner delivery.',
  });
  // In this order, so /openapi.json lists the routes as before.
  registryRoutes(api, d, g);
  lifecycleRoutes(api, d, g);
  credentialRoutes(api, d, g);
  channelAppRoutes(api, d, g);
  configRoutes(api, d, g);
  notificationRoutes(api, d, g);
  partnerRoutes(api, d, g);
  return api;
}
