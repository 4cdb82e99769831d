"""Teacher providers behind one small async interface (`distill.providers.base.Provider`).

Recipes never import a provider module: they receive a `distill.engine.teacher.Teacher`, which wraps whatever
provider the config names, looked up lazily in `distill.providers.registry`.

Adding a provider is one module: a `Provider` subclass that implements `complete` and declares its `Spec`, key,
in-process or hosted pricing, batch backend and short form as class attributes (see `base.Provider`), plus one
line in `registry.PROVIDERS` — or, outside distill, one entry point in the `distill.providers` group.
"""
