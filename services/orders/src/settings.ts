import { positiveIntEnv } from '@omnimall/service-kit';

/** The orders service's own settings, read from the environment (defaults in brackets). */
export interface OrdersSettings {
  /** ORDERS_STEP_TIMEOUT_MS [5000]: how long a saga step waits for inventory's or promotions' answer before it is sent again. */
  stepMs: number;
  /** ORDERS_PAYMENT_TIMEOUT_MS [3000]: one payment call's time limit (the breaker's timeout). */
  paymentTimeoutMs: number;
  /** ORDERS_PAYMENT_DEADLINE_MS [5000]: how long after a payment step the sweeper asks the provider what became of it. */
  paymentMs: number;
  /** ORDERS_STEP_ATTEMPTS [3]: attempts of a step before the saga gives it up and compensates. */
  maxAttempts: number;
  /** ORDERS_HOLD_SECONDS [900]: how long stock and usage are held for a checkout (the commands' expiry). */
  holdSeconds: number;
  /** ORDERS_SWEEP_MS [1000]: how often the sweeper looks for sagas past their deadline. */
  sweepMs: number;
  /** ORDERS_CHECKOUT_WAIT_MS [3000]: how long POST /checkouts waits for the saga's outcome before answering 202. */
  waitMs: number;
  /** ORDERS_POINT_VALUE_MINOR [1]: what one redeemed loyalty point takes off (minor units). */
  pointValueMinor: number;
  /** ORDERS_SHIPPING_EXPRESS_MINOR [990]: the express shipping price (standard and pickup are free). */
  expressMinor: number;
  /** ORDERS_PSP_URL: the payment provider's API root; unset: the built-in test PSP is started beside the service. */
  pspUrl: string | null;
  /** ORDERS_PSP_SECRET: the secret the provider signs its webhooks with (random for the built-in test PSP when unset). */
  pspSecret: string | null;
  /** ORDERS_PSP_HANG_MS [30000]: how long the built-in test PSP keeps a tok_timeout authorisation waiting. */
  pspHangMs: number;
}

const int = positiveIntEnv;

export function ordersSettings(env: NodeJS.ProcessEnv): OrdersSettings {
  return {
    stepMs: int(env, 'ORDERS_STEP_TIMEOUT_MS', 5000),
    paymentTimeoutMs: int(env, 'ORDERS_PAYMENT_TIMEOUT_MS', 3000),
    paymentMs: int(env, 'ORDERS_PAYMENT_DEADLINE_MS', 5000),
    maxAttempts: int(env, 'ORDERS_STEP_ATTEMPTS', 3),
    holdSeconds: int(env, 'ORDERS_HOLD_SECONDS', 900),
    sweepMs: int(env, 'ORDERS_SWEEP_MS', 1000),
    waitMs: int(env, 'ORDERS_CHECKOUT_WAIT_MS', 3000),
    pointValueMinor: int(env, 'ORDERS_POINT_VALUE_MINOR', 1),
    expressMinor: int(env, 'ORDERS_SHIPPING_EXPRESS_MINOR', 990),
    pspUrl: env.ORDERS_PSP_URL || null,
    pspSecret: env.ORDERS_PSP_SECRET || null,
    pspHangMs: int(env, 'ORDERS_PSP_HANG_MS', 30_000),
  };
}
