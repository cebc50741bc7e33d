import type { ChangeRoute } from './change';
import { addBody, setBody, skuParams } from './schemas';

/** The cart's lines: add units, set a quantity, remove a line. The customer token or the device token (request.ts). */
export function lineRoutes(change: ChangeRoute): void {
  change('Add units of an item (summed with a line already there)', 'post', '/cart/lines', { body: addBody }, ({ body, channel, at }) => ({
    kind: 'add',
    ...body,
    channel,
    at,
  }));
  change(
    'Set the quantity of a line (0 removes it)',
    'put',
    '/cart/lines/:sku',
    { params: skuParams, body: setBody },
    ({ body, params, channel, at }) => ({
      kind: 'set',
      sku: params.sku,
      quantity: body.quantity,
      channel,
      at,
    }),
  );
  change('Remove a line', 'delete', '/cart/lines/:sku', { params: skuParams }, ({ params }) => ({ kind: 'remove', sku: params.sku }));
}
