// Shared shapes between the panel's views and its shell.
import type { ApiClient } from './api-client.js';

/**
 * Runs an operator action: shows the API's error if it fails, a confirmation if it succeeds, and
 * polls at once so the change shows without waiting for the next tick. Resolves either way.
 */
export type Act = (what: string, action: () => Promise<unknown>) => Promise<boolean>;

export interface ViewContext {
  client: ApiClient;
  /** For one-click actions: a failure shows as a notice with the API's message and field. */
  act: Act;
  /** For dialogs, after their write succeeded (a failure stays in the dialog): confirms and polls. */
  changed(what: string): void;
}
