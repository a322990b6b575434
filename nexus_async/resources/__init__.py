"""One module per API resource. Resources build paths and parameters; the transport sends."""
