"""es-transport-pki: config model and Pulumi components for Elasticsearch transport TLS."""
