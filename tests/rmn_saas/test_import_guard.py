"""The web process must never load the ML stack or the solver: they belong to the workers."""

import json
import os
import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "cvxpy")

PROBE = """
import json, sys
import rmn_saas.wsgi
from django.urls import get_resolver
from django.conf import settings
# Resolve both URL confs and the API schema too: everything a web request can import.
for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
    get_resolver(urlconf).url_patterns
from rmn_saas.celery import app
app.loader.import_default_modules()
import inference.tasks, inference.services
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r)))
"""


def test_web_process_imports_no_heavy_library():
    # given a fresh interpreter with the web settings
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="rmn_saas.settings")

    # when it imports the WSGI app, every URL conf and the task modules it sends to
    output = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,)], env=env, capture_output=True, text=True, check=True
    ).stdout

    # then none of the heavy libraries is loaded
    assert json.loads(output.strip().splitlines()[-1]) == []
