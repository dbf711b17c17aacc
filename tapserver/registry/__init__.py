"""Registry publishing: a minimal OAI-PMH endpoint (/oai) serving this service's VOResource record."""
