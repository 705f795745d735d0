"""The protocol boundary: protobuf <-> domain values, status codes. Nothing else."""
