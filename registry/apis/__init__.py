"""The registry catalog API under ``/api/v1/``, one module per resource: models, model versions, datasets
and their versions, runs and deployments. Data scientists and pipelines write; compliance officers and
auditors read. One APIView per operation; where two share a path, one view serves both methods."""
