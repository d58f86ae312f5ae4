#!/bin/sh
# azd postprovision hook. A new role assignment takes minutes to apply, and the first code deployment needs the
# detector identity's storage roles: Flex Consumption reads the package with that identity, and answers 403
# (InaccessibleStorageException) until they apply (Azure/azure-dev#8026). main.bicep outputs when they were
# created (DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT, Unix seconds; azd passes outputs to hooks as environment
# variables); this waits until ROLE_PROPAGATION_SECONDS (default 300) have passed since then. A redeployment keeps
# the existing assignments, whose creation time is older: nothing to wait for.
set -eu

assigned="${DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT:-0}"
window="${ROLE_PROPAGATION_SECONDS:-300}"
case "$assigned" in '' | *[!0-9]*)
  echo "postprovision: DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT is not a number (\"$assigned\"); not waiting" >&2
  exit 0
  ;;
esac
case "$window" in '' | *[!0-9]*)
  echo "postprovision: ROLE_PROPAGATION_SECONDS must be a whole number of seconds, got \"$window\"" >&2
  exit 2
  ;;
esac

now="$(date +%s)"
remaining=$((assigned + window - now))
if [ "$assigned" -eq 0 ] || [ "$remaining" -le 0 ]; then
  exit 0
fi
# A clock ahead of Azure's must not stretch the wait beyond the window.
if [ "$remaining" -gt "$window" ]; then remaining="$window"; fi
echo "postprovision: the detector identity's storage roles were assigned $((now - assigned)) s ago; waiting ${remaining} s for them to apply before the first deployment (Azure/azure-dev#8026)"
sleep "$remaining"
