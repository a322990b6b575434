"""Local building blocks of uploads: checksums, MIME detection, discovery, file descriptions,
metadata validation and signed-URL storage transfers.

The upload and import sessions are built from these; each module has one job.
"""
