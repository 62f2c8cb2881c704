/** §2.1 and §2.16: whether the checkout container runs, and its removal at the very end. */
import { CHECKOUT_CONTAINER } from "./names.ts";
import type { Draft, ExpansionInputs } from "./state.ts";

export function decideSkipCheckout(draft: Draft, inputs: ExpansionInputs): void {
  draft.skipCheckout = inputs.plugin?.checkout?.skip ?? inputs.config.defaultCheckoutParams?.skip ?? false;
  draft.systemCount = draft.skipCheckout ? 0 : 1;
}

/** Runs after the patches, so a patch cannot bring back a checkout the step skipped. */
export function removeSkippedCheckout(draft: Draft): void {
  if (!draft.skipCheckout) return;
  draft.podSpec.containers = draft.podSpec.containers.filter(
    (container) => container.name !== CHECKOUT_CONTAINER,
  );
}
