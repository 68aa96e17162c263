"""``unused-fixture``: a fixture that no test requests, directly or through other fixtures.

A fixture counts as used when a test in its scope requests it by parameter name or ``usefixtures``
(followed through fixtures that request fixtures, as ``placeholder`` does), when it is ``autouse``,
when its name appears as a string anywhere in the audited files (``request.getfixturevalue("db")``,
``indirect=["db"]``, a ``usefixtures`` list built elsewhere), or when it is one of the fixtures that a
common pytest plugin requests itself (``anyio_backend``, ``event_loop_policy``, pytest-django's
``django_db_setup``, pytest-flask's ``app``, ...).
"""

from __future__ import annotations

from mcptest.audit.context import Project
from mcptest.audit.rule import Rule

#: Fixtures that pytest plugins request for the project: defining them configures the plugin.
PLUGIN_FIXTURES = frozenset({
    "anyio_backend", "anyio_backend_name", "anyio_backend_options",  # anyio
    "event_loop", "event_loop_policy",  # pytest-asyncio
    "django_db_setup", "django_db_modify_db_settings", "django_db_modify_db_settings_parallel_suffix",
    "django_db_modify_db_settings_tox_suffix", "django_db_modify_db_settings_xdist_suffix",
    "django_db_use_migrations", "django_db_keepdb", "django_db_createdb", "django_db_serialized_rollback",
    "app", "live_server_scope",  # pytest-flask
    "celery_config", "celery_includes", "celery_parameters", "celery_worker_parameters", "celery_enable_logging",
    "celery_worker_pool", "use_celery_app_trap",  # celery
    "vcr_config", "vcr_cassette_dir", "default_cassette_name", "record_mode",  # pytest-recording / pytest-vcr
    "httpserver_listen_address", "httpserver_ssl_context",  # pytest-httpserver
    "faker_locale", "faker_seed",  # faker
    "qapp_args", "qapp_cls",  # pytest-qt
    "doctest_namespace",  # pytest itself, for doctests
})


def finish(project: Project) -> None:
    for fixture in project.fixtures:
        if fixture.users or fixture.autouse or fixture.name in PLUGIN_FIXTURES or fixture.name in project.strings:
            continue
        src = fixture.src
        reason = f"fixture '{fixture.name}' is defined but no test requests it, directly or through another fixture"
        project.out.add(src, RULE.id, src.rel, fixture.node.lineno, None, reason, src.def_lines(fixture.node))


RULE = Rule(
    "unused-fixture",
    "fixture that no test uses",
    "setup that nothing runs is dead code that readers still have to understand, and may hide a test left unwired",
    "delete it, or request it from the test that was meant to use it",
    finish=finish,
)
