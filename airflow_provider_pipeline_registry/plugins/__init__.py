"""The registry inside Airflow's web UI (Airflow 3.1+): an ``AirflowPlugin`` with a FastAPI app.

:mod:`.pipeline_registry_plugin` holds the plugin class (registered through the provider info's
``plugins`` and the ``airflow.plugins`` entry point); :mod:`.app` builds the FastAPI app (a
read-only JSON API and server-rendered pages); :mod:`.service` reads through the registry core.
Nothing here is imported unless Airflow loads the plugin.
"""
