"""labkit: a hands-on lab for debugging mail servers.

The package is layered so that every view stands on the same data:

* ``labkit.lab``       - the Docker Compose lab: images, lifecycle, scenarios, transports
* ``labkit.probes``    - pure functions (tcp, smtp, tls, dns, server) returning frozen dataclasses
* ``labkit.doctor``    - a registry of checks over probe results, producing findings
* ``labkit.exercises`` - pure graders and live-task checks returning ``Grade``
* ``labkit.widgets``   - ipywidgets views that only collect input and show results
* ``labkit.cli``       - the ``labkit`` console command, another view
"""

from labkit.errors import LabkitError

__version__ = "0.1.0"
__all__ = ["LabkitError", "__version__"]
