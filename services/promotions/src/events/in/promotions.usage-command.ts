import { AppError } from '@omnimall/service-kit/errors';
import type { EventHandler } from '@omnimall/service-kit';
import type { HoldOutcome, HoldService, UsageMeta } from '../../application/usage';

/**
 * promotions.usage-command → a usage hold held, committed, released or reverted for the orders
 * service; the answer is the promotions.usage event naming the command. A command that changes
 * nothing (a retry under a new command id) is answered with the hold's state; one promotions refuses
 * (a limit reached, an unknown or finished hold) is answered `refused` with the code and hint, not retried.
 */
export function usageCommandIn(holds: HoldService, defaultHoldMs: number, maxHoldMs: number): EventHandler<'promotions.usage-command'> {
  return async (c, ctx) => {
    ctx.channel = c.channel;
    const meta: UsageMeta = {
      caller: `command:${c.envelope.producer}`,
      commandId: c.commandId,
      origin: { correlationId: c.envelope.correlationId, sourceChannel: c.channel },
    };
    const base = {
      customerId: c.customerId,
      channel: c.channel,
      reference: c.reference,
      codes: c.codes,
      campaigns: c.campaigns,
      points: c.points,
    };
    const now = Date.now();
    try {
      let out: HoldOutcome;
      if (c.action === 'hold')
        out = await holds.hold(
          { ...base, holdId: c.holdId, expiresAt: Math.min(c.expiresAt ?? now + defaultHoldMs, now + maxHoldMs) },
          meta,
        );
      else if (c.action === 'commit') out = await holds.commit(c.holdId, meta);
      else if (c.action === 'release') out = await holds.release(c.holdId, meta);
      else out = await holds.revert(c.holdId, meta);
      if (!out.changed) await holds.answer(c.holdId, base, out.refusal, meta);
    } catch (err) {
      if (!(err instanceof AppError)) throw err; // the database or broker: retried
      await holds.answer(c.holdId, base, err, meta);
    }
  };
}
