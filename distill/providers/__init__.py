"""Teacher providers behind one small async interface (`distill.providers.base.Provider`).

Recipes never import a provider module: they receive a `distill.engine.teacher.Teacher`, which wraps whatever
provider the config names, looked up lazily in `distill.providers.registry`.
"""
