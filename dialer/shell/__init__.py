"""The process shell: the `dialer` command line, `dialer up` and its children, the embedded Redis,
the service's own REST client, local secrets and process tuning.

It composes every other package (`dialer.shell.cli` is the one composition root); none imports it.
"""
