"""HTTP handlers of the embedded openEO backend, one module per endpoint family."""
