"""A stand-in for MTT's sb-api that places no calls and sends realistic webhooks (docs/design.md
§11).

Kept free of imports so that `dialer.shell.simulate_cli` loads without FastAPI or uvicorn.
Entry points: `app.create_app`, `server.run`, `options.SimulatorOptions`.
"""
