/*
 * The alert's `Context` (Panther's alert_context), in one layout for every rule: what the record says of
 * the operation, where it happened (each rule's own keys), who did it, what the rule found (its own keys),
 * then how the record was read and its properties, secrets redacted.
 */
import { redactSecrets } from '../lib/redact';
import type { ActivityEvent } from '../normalize/activityEvent';

export function alertContext(
  event: ActivityEvent,
  where: Record<string, unknown>,
  found: Record<string, unknown>,
): Record<string, unknown> {
  const context: Record<string, unknown> = {
    resource_id: event.resourceId,
    caller_ip: event.callerIpAddress,
    operation_name: event.operationName,
    result_type: event.resultType,
    correlation_id: event.correlationId,
    location: event.location,
    tenant_id: event.tenantId,
    ...where,
    caller: event.caller,
    caller_kind: event.callerKind,
    ...(event.callerResourceId === '' ? {} : { caller_managed_identity: event.callerResourceId }),
    ...found,
    source_format: event.sourceFormat,
  };
  if (event.droppedFields.length > 0) context.dropped_fields = event.droppedFields;
  if (event.properties) context.properties = redactSecrets(event.properties);
  return context;
}
