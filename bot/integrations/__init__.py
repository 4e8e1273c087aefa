"""The business's own systems: the CRM API's service, outbound webhooks, advocate imports."""
