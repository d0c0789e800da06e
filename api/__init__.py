"""The JSON API under ``/api/v1``: schemas, errors as ``application/problem+json``, the OpenAPI document."""
