"""The HTTP layer: one router module per service. Handlers read the request (parameters through
:func:`tapserver.dependencies.dali_params`), ask the factory for a service and render its answer; the rules
live in the service packages, which never import this one."""
