import type { WorkbenchApi } from '../../shared/api/contract';
import { ApiArgumentError, isChannel, validateArguments } from '../../shared/api/validate';
import { UserError } from '../services/user-error';

/**
 * Calls a channel of the API after validating the channel name and its arguments. Both
 * transports go through here: ipcMain.handle in the app and the bridge server's HTTP
 * endpoint. Errors the user can act on keep their message; anything else is reported as
 * an internal error without leaking a stack trace to the renderer.
 */
export async function dispatch(api: WorkbenchApi, channel: unknown, args: unknown): Promise<unknown> {
  if (!isChannel(channel)) throw new ApiArgumentError(String(channel), 'unknown channel');
  if (!Array.isArray(args)) throw new ApiArgumentError(channel, 'arguments must be an array');
  validateArguments(channel, args);
  try {
    return await (api[channel] as (...a: unknown[]) => Promise<unknown>)(...args);
  } catch (e) {
    if (e instanceof UserError || e instanceof ApiArgumentError) throw e;
    throw new Error(`internal error in ${channel}: ${(e as Error).message}`);
  }
}
