"""The jupyter-server extension: configuration, credentials, the openEO proxy and the kernel channel."""
